"""IPR-ranked pruning curves (computed inside `run` on the final weights) and the dynamics times
(t_train95, t_test90, t_unlearn) that `summarize` derives from the logged curves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from rote.sims import engine
from rote.sims.params import replace
from rote.sims.studies.grokking import STUDY, analysis, metrics, model, pruning
from rote.sims.studies.grokking import run as training
from rote.sims.studies.grokking.params import GrokkingParams

CFG = GrokkingParams(p=23, N=64, steps=200, log_every=20, alpha=0.8, xi=0.3, weight_decay=1.0)


@pytest.fixture(scope="module")
def trained():
    """A trained smoke-size checkpoint, its data, IPR and the run's outputs."""
    key = engine.key_of(CFG.seed)
    checkpoint, _ = jax.jit(training.train)(CFG, key)
    data = training.make_data(CFG, key)
    ipr = model.neuron_ipr(checkpoint)
    curves = jax.jit(pruning.pruning_curves)(checkpoint, data, ipr, key)  # what run() computes at the end
    return checkpoint, data, ipr, jax.tree_util.tree_map(np.asarray, curves)


def masked_metrics(checkpoint, data, pruned):
    """Reference: zero U[k,:], V[k,:], W[:,k] of the pruned neurons (the paper's protocol) and evaluate."""
    keep = jnp.ones(CFG.N).at[jnp.asarray(pruned, int)].set(0.0) if len(pruned) else jnp.ones(CFG.N)
    w = {"Ut": checkpoint["Ut"] * keep, "Vt": checkpoint["Vt"] * keep, "Wt": checkpoint["Wt"] * keep[:, None]}
    return metrics.evaluate(w, data)


def test_curves_equal_zeroing_the_pruned_neurons(trained):
    checkpoint, data, ipr, out = trained
    low = np.argsort(np.where(np.isnan(ipr), np.inf, ipr))
    high = np.argsort(np.where(np.isnan(ipr), np.inf, -np.asarray(ipr)))
    for order, name in ((low, "low"), (high, "high")):
        for k in (0, 1, 10, 32, 50, 63):
            ref = masked_metrics(checkpoint, data, order[:k])
            for metric in pruning.PRUNE_METRICS:
                got = out[f"prune_{name}_{metric}"][k]
                want = float(ref[metric])
                tol = 1e-4 * max(1.0, abs(want)) if "loss" in metric else 1.5 / CFG.p**2  # at most one pair flips
                assert got == pytest.approx(want, abs=tol), (name, k, metric)


def test_orders_and_random_control(trained):
    checkpoint, data, ipr, out = trained
    # k = 0 is the unpruned net for every order
    full = metrics.evaluate(checkpoint, data)
    for name in ("low", "high", "random"):
        assert out[f"prune_{name}_test_acc"][0] == pytest.approx(float(full["test_acc"]), abs=1e-6)
    assert np.all(out["prune_random_std_test_acc"][0] < 1e-6)
    # the random orders differ from each other (nonzero spread) and are not the IPR orders
    assert out["prune_random_std_test_acc"][10:50].max() > 0
    assert not np.allclose(out["prune_random_test_acc"], out["prune_low_test_acc"])
    # random orders are permutations, reproducible from the key
    key = engine.key_of(CFG.seed)
    a = jax.jit(pruning.pruning_curves)(checkpoint, data, ipr, key)
    b = jax.jit(pruning.pruning_curves)(checkpoint, data, ipr, jax.random.PRNGKey(99))
    np.testing.assert_array_equal(np.asarray(a["prune_random_test_acc"]), out["prune_random_test_acc"])
    assert not np.array_equal(np.asarray(b["prune_random_test_acc"]), out["prune_random_test_acc"])


def test_zero_neurons_are_pruned_last(trained):
    checkpoint, data, ipr, _ = trained
    dead = {**checkpoint, "Ut": checkpoint["Ut"].at[:, :3].set(0), "Vt": checkpoint["Vt"].at[:, :3].set(0), "Wt": checkpoint["Wt"].at[:3].set(0)}
    ipr_dead = model.neuron_ipr(dead)
    assert np.isnan(ipr_dead[:3]).all()
    curves = pruning.pruning_curves(dead, data, ipr_dead, jax.random.PRNGKey(0))
    for name in ("low", "high"):
        assert np.isfinite(np.asarray(curves[f"prune_{name}_test_acc"])).all()


def test_batchnorm_checkpoint_prunes_its_normalized_features():
    cfg = replace(CFG, regularizer="batchnorm", batch_size=32, lr=0.005, weight_decay=0.0, steps=60)
    key = engine.key_of(cfg.seed)
    checkpoint, _ = jax.jit(training.train)(cfg, key)
    data = training.make_data(cfg, key)
    ipr = model.neuron_ipr(checkpoint)
    curves = pruning.pruning_curves(checkpoint, data, ipr, key)
    order = np.argsort(np.where(np.isnan(ipr), np.inf, ipr))
    k = 20
    feats = model.features(checkpoint, data["m"], data["n"])
    keep = np.ones(cfg.N)
    keep[order[:k]] = 0
    logits = (feats * keep) @ checkpoint["Wt"]
    ref = metrics.metrics_from_logits(logits, data)
    assert float(curves["prune_low_test_acc"][k]) == pytest.approx(float(ref["test_acc"]), abs=1.5 / cfg.p**2)


def test_pruning_can_be_switched_off():
    """prune_curves=0: the curves are NaN (the real curves of run() are checked by the claim tests,
    which read them from quick-scale sweeps)."""
    off = engine.run_one(STUDY, replace(CFG, prune_curves=0, steps=20))
    for name in pruning.prune_metric_names():
        assert off[name].shape == (CFG.N,) and np.isnan(off[name]).all(), name


# --------------------------------------------------------------------------------------------------
# Dynamics times
# --------------------------------------------------------------------------------------------------


def curve(values, steps=None):
    steps = np.arange(0, 10 * len(values), 10) if steps is None else steps
    return xr.DataArray(np.asarray(values, float), dims="step", coords={"step": steps})


def test_first_step_at_or_above():
    assert float(analysis.first_step_at_or_above(curve([0.1, 0.5, 0.95, 0.9, 1.0]), 0.95)) == 20
    assert np.isnan(float(analysis.first_step_at_or_above(curve([0.1, 0.5, 0.9]), 0.95)))
    assert float(analysis.first_step_at_or_above(curve([np.nan, 0.99, 1.0]), 0.95)) == 10


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.0, 0.5, 1.0, 0.8, 0.3, 0.05, 0.02], 50),  # memorized, then unlearned at step 50
        ([0.0, 0.05, 0.5, 1.0, 1.0], np.nan),  # never unlearned (the early dip below 10 % is before the peak)
        ([0.02, 0.05, 0.03, 0.01], np.nan),  # never memorized: peak below 10 %, nothing to unlearn
        ([np.nan, np.nan, np.nan], np.nan),  # xi = 0: no corrupted subset
        ([0.0, 1.0, 0.09], 20),
    ],
)
def test_unlearning_step(values, expected):
    got = float(analysis.unlearning_step(curve(values)))
    assert (np.isnan(got) and np.isnan(expected)) or got == expected


def test_summarize_adds_dynamics_times():
    steps = np.arange(0, 50, 10)
    ds = xr.Dataset(
        {
            "train_acc": (("xi", "step"), [[0.1, 0.97, 1.0, 1.0, 1.0], [0.1, 0.96, 1.0, 0.8, 0.66]]),
            "test_acc": (("xi", "step"), [[0.0, 0.2, 0.95, 1.0, 1.0], [0.0, 0.5, 0.92, 1.0, 1.0]]),
            "corrupt_acc": (("xi", "step"), [[np.nan] * 5, [0.0, 0.9, 1.0, 0.3, 0.02]]),
            "corrupt_true_acc": (("xi", "step"), [[np.nan] * 5, [0.0, 0.0, 0.0, 0.6, 0.97]]),
        },
        coords={"xi": [0.0, 0.35], "step": steps},
        attrs={"config": '{"base": {"p": 47}}'},
    )
    out = analysis.summarize(ds)
    np.testing.assert_array_equal(out["t_train95"].values, [10, 10])
    np.testing.assert_array_equal(out["t_test90"].values, [20, 20])
    assert np.isnan(out["t_unlearn"].values[0]) and out["t_unlearn"].values[1] == 40
    assert "NaN if never" in out["t_unlearn"].attrs["description"]


def test_prunable_neurons_is_the_largest_k_above_90_percent():
    c = xr.DataArray(
        [[0.95, 0.92, 0.91, 0.85, 0.95], [0.5, 0.95, 0.95, 0.95, 0.5], [0.95, 0.95, 0.95, np.nan, np.nan], [0.5, 0.5, 0.5, 0.5, 0.5]],
        dims=("x", "neuron"),
    )
    got = analysis.prunable_neurons(c).values
    np.testing.assert_array_equal(got[:3], [4, 3, 2])  # a dip below 90 % does not end it; NaN never counts
    assert np.isnan(got[3])  # never at 90 %
