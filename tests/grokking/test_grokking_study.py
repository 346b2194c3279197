"""sims/studies/grokking/: data and corruption, init, parameter validation, a quick-scale grokking run."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rote.sims import engine
from rote.sims import params as P
from rote.sims.errors import ConfigError
from rote.sims.studies.grokking import metrics, model
from rote.sims.studies.grokking import run as training
from rote.sims.studies.grokking.params import GrokkingParams
from rote.theory.grokking import Phase


def data_of(**kw):
    cfg = GrokkingParams(**{"N": 8, "steps": 10, "log_every": 10, **kw})
    return cfg, {k: np.asarray(v) for k, v in training.make_data(cfg, jax.random.PRNGKey(cfg.seed)).items()}


def exact_floor(x: float, n: int) -> int:
    return math.floor(Fraction(repr(x)) * n)


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, alpha", [(97, 0.5), (97, 0.3), (97, 0.15), (47, 0.5), (47, 0.7), (47, 0.9), (23, 0.8), (10, 0.3), (100, 0.29), (5, 0.04)]
)
def test_n_train_is_floor_alpha_p_squared(p, alpha):
    cfg, d = data_of(p=p, alpha=alpha)
    assert cfg.n_train == exact_floor(alpha, p * p)
    assert d["is_train"].sum() == cfg.n_train
    assert d["is_train"][: cfg.n_train].all()  # train is a prefix of the shuffled order


def test_all_pairs_once_with_correct_labels():
    for op, fn in (("add", lambda m, n: (m + n) % 23), ("mul", lambda m, n: (m * n) % 23)):
        cfg, d = data_of(p=23, alpha=0.5, xi=0.3, operation=op)
        pairs = set(zip(d["m"].tolist(), d["n"].tolist()))
        assert len(pairs) == 23 * 23 == len(d["m"])
        np.testing.assert_array_equal(d["true"], fn(d["m"], d["n"]))
        clean = ~d["is_corrupt"]
        np.testing.assert_array_equal(d["noisy"][clean], d["true"][clean])
        assert ((d["noisy"] >= 0) & (d["noisy"] < 23)).all()
        assert not (d["is_corrupt"] & ~d["is_train"]).any()  # test labels are never corrupted
    # a shuffle: not the identity order
    assert not (d["m"] * 23 + d["n"] == np.arange(23 * 23)).all()


def test_corrupted_labels_are_random():
    _, d = data_of(p=47, alpha=0.9, xi=1.0)
    c = d["is_corrupt"]
    agree = np.mean(d["noisy"][c] == d["true"][c])
    assert agree < 0.1  # chance is 1/47; a bug that keeps true labels gives 1
    assert len(np.unique(d["noisy"][c])) == 47


ALPHAS = (0.3, 0.5, 0.7, 0.9)
XIS = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.9, 1.0)


@pytest.mark.parametrize("p", [47, 97])
def test_corrupted_count_is_floor_xi_n_train_in_the_vmapped_path(p):
    """The engine's path: traced (float32) xi inside jit(vmap); the count must be the exact floor."""
    configs = [GrokkingParams(p=p, N=4, steps=1, log_every=1, alpha=a, xi=x) for a in ALPHAS + (0.45, 0.55) for x in XIS]
    for alpha in sorted({c.alpha for c in configs}):
        group = [c for c in configs if c.alpha == alpha]
        stacked = engine.stack_params(group)
        d = jax.jit(jax.vmap(training.make_data))(stacked, jax.vmap(engine.key_of)(stacked.seed))
        counts = np.asarray(d["is_corrupt"]).sum(axis=1)
        expected = [exact_floor(c.xi, c.n_train) for c in group]
        np.testing.assert_array_equal(counts, expected, err_msg=f"p {p} alpha {alpha}")
    # paper-scale grid values (4 decimals)
    for a in np.round(np.linspace(0.1, 0.9, 17), 4).tolist():
        cfg = GrokkingParams(p=97, N=4, steps=1, log_every=1, alpha=a, xi=0.35)
        _, d = data_of(p=97, alpha=a, xi=0.35)
        assert d["is_corrupt"].sum() == exact_floor(0.35, cfg.n_train)


def test_train_sets_nested_in_alpha_and_corrupted_sets_nested_in_xi():
    base = dict(p=31, seed=3)
    runs = {(a, x): data_of(alpha=a, xi=x, **base)[1] for a in (0.3, 0.5, 0.8) for x in (0.1, 0.2, 0.5)}
    first = runs[(0.3, 0.1)]
    for d in runs.values():  # one shuffle per seed: the pair order never changes
        np.testing.assert_array_equal(d["m"], first["m"])
        np.testing.assert_array_equal(d["n"], first["n"])
    for x in (0.1, 0.2, 0.5):
        small, mid, big = (runs[(a, x)]["is_train"] for a in (0.3, 0.5, 0.8))
        assert (small <= mid).all() and (mid <= big).all() and small.sum() < mid.sum() < big.sum()
    for a in (0.3, 0.5, 0.8):
        lo, mid, hi = (runs[(a, x)] for x in (0.1, 0.2, 0.5))
        assert (lo["is_corrupt"] <= mid["is_corrupt"]).all() and (mid["is_corrupt"] <= hi["is_corrupt"]).all()
        assert lo["is_corrupt"].sum() < mid["is_corrupt"].sum() < hi["is_corrupt"].sum()
        # a pair corrupted at low xi keeps the same random label at higher xi
        np.testing.assert_array_equal(hi["noisy"][lo["is_corrupt"]], lo["noisy"][lo["is_corrupt"]])
    other = data_of(alpha=0.5, xi=0.2, p=31, seed=4)[1]
    assert not np.array_equal(other["m"], first["m"])


def test_init_scale_and_pairing():
    cfg = GrokkingParams(p=97, N=500)
    w = model.init_weights(cfg, jax.random.PRNGKey(0))
    assert w["Ut"].shape == (97, 500) and w["Vt"].shape == (97, 500) and w["Wt"].shape == (500, 97)
    target = (16 * 500) ** (-1 / 3)  # 0.05
    for name, x in w.items():
        assert float(np.std(np.asarray(x))) == pytest.approx(target, rel=0.02), name
        assert abs(float(np.mean(np.asarray(x)))) < 0.002
    # U, V, W are independent draws
    assert not np.allclose(w["Ut"], w["Vt"])
    # the init depends only on the seed (and shapes), not on alpha, xi or wd: paired comparisons
    w2 = model.init_weights(GrokkingParams(p=97, N=500, alpha=0.3, xi=0.5, weight_decay=5.0), jax.random.PRNGKey(0))
    for k in w:
        np.testing.assert_array_equal(np.asarray(w[k]), np.asarray(w2[k]))
    small = model.init_weights(GrokkingParams(p=47, N=192), jax.random.PRNGKey(0))
    assert float(np.std(np.asarray(small["Ut"]))) == pytest.approx((16 * 192) ** (-1 / 3), rel=0.03)


def test_initial_loss_is_about_one_over_p():
    cfg = GrokkingParams(p=97, N=500)
    key = jax.random.PRNGKey(0)
    w, d = model.init_weights(cfg, key), training.make_data(cfg, key)
    loss = float(model.mse(model.forward(w, d["m"], d["n"]), d["noisy"]))
    assert loss == pytest.approx(1 / 97, rel=0.1)  # about 1/p at init (0.0104 at p 97)


# --------------------------------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(xi=-0.01), "xi"),
        (dict(xi=1.5), "xi"),
        (dict(xi=float("nan")), "xi"),
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=1.0), "alpha"),
        (dict(p=5, alpha=0.99999999999), "test"),  # floor(alpha 25) = 25: no test pair
        (dict(p=2, alpha=0.2), "training"),  # floor(0.8) = 0: no training pair
        (dict(steps=1000, log_every=30), "log_every"),
        (dict(steps=0), "steps"),
        (dict(log_every=0), "log_every"),
        (dict(weight_decay=-1e-3), "weight_decay"),
        (dict(weight_decay=float("inf")), "weight_decay"),
        (dict(lr=0.0), "lr"),
        (dict(lr=-0.01), "lr"),
        (dict(p=1), "p"),
        (dict(p=47.0), "p"),
        (dict(N=0), "N"),
        (dict(operation="div"), "operation"),
        (dict(seed=-1), "seed"),
        (dict(seed=2**31), "seed"),
        (dict(seed=1.5), "seed"),
    ],
)
def test_invalid_params_raise_config_error(kw, match):
    with pytest.raises(ConfigError, match=match):
        GrokkingParams(**kw)


def test_valid_edge_params_construct():
    GrokkingParams(p=5, alpha=0.9999)  # floor(24.9975) = 24 train, 1 test
    GrokkingParams(p=2, alpha=0.25)  # 1 train, 3 test
    GrokkingParams(xi=0.0)
    GrokkingParams(xi=1.0)
    GrokkingParams(weight_decay=0.0)
    GrokkingParams(steps=7, log_every=7)


def test_replace_turns_errors_into_config_errors():
    base = GrokkingParams()
    assert P.replace(base, xi=0.2).xi == 0.2 and base.xi == 0.0
    with pytest.raises(ConfigError, match="unknown parameter"):
        P.replace(base, nonsense=1)
    with pytest.raises(ConfigError):
        P.replace(base, xi="a lot")
    with pytest.raises(ConfigError):
        P.replace(base, xi=2.0)


def test_static_and_traced_fields():
    assert set(P.static_fields(GrokkingParams)) == {"p", "N", "steps", "log_every", "alpha", "operation", "regularizer", "batch_size", "prune_curves", "model", "activation", "loss", "heads"}
    assert set(P.traced_fields(GrokkingParams)) == {"xi", "weight_decay", "lr", "seed", "dropout"}
    leaves = jax.tree_util.tree_leaves(GrokkingParams(xi=0.1, weight_decay=2.0, lr=0.02, seed=3))
    assert sorted(map(float, leaves)) == [0.0, 0.02, 0.1, 2.0, 3.0]


@pytest.mark.parametrize("kw", [dict(weight_decay=np.float32("nan")), dict(weight_decay=np.float32("inf")), dict(lr=np.float32("inf"))])
def test_numpy_float32_non_finite_values_are_rejected(kw):
    with pytest.raises(ConfigError):
        GrokkingParams(**kw)


def test_absurdly_large_p_is_a_config_error():
    with pytest.raises(ConfigError):
        GrokkingParams(p=10**160)


# Hypothesis: any numeric field values either construct or raise ConfigError; nothing else escapes, and
# whatever constructs satisfies every documented constraint.
_number = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2.0, max_value=2.0),
    st.sampled_from([0, 1, 2, 0.0, 0.5, 1.0, -0.0, 1e-300, 1 - 1e-16]),
)
_fields = {
    "xi": st.one_of(st.floats(min_value=-0.5, max_value=1.5), _number),
    "alpha": st.one_of(st.floats(min_value=-0.5, max_value=1.5), _number),
    "weight_decay": _number,
    "lr": _number,
    "steps": st.one_of(st.integers(min_value=-5, max_value=10**6), _number),
    "log_every": st.one_of(st.integers(min_value=-5, max_value=2000), _number),
    "p": st.one_of(st.integers(min_value=-5, max_value=2000), _number),
    "N": st.one_of(st.integers(min_value=-5, max_value=10**5), _number),
    "seed": st.one_of(st.integers(min_value=-5, max_value=2**32), _number),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=_fields))
def test_params_construct_or_raise_config_error(kw):
    try:
        cfg = GrokkingParams(**kw)
    except ConfigError:
        return
    assert isinstance(cfg.p, int) and cfg.p >= 2
    assert isinstance(cfg.N, int) and cfg.N >= 1
    assert 0.0 <= cfg.xi <= 1.0 and 0.0 < cfg.alpha < 1.0
    assert 1 <= cfg.n_train < cfg.p**2
    assert math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0
    assert math.isfinite(cfg.lr) and cfg.lr > 0
    assert isinstance(cfg.steps, int) and isinstance(cfg.log_every, int) and cfg.steps % cfg.log_every == 0
    assert 0 <= cfg.seed < 2**31


# --------------------------------------------------------------------------------------------------
# Coordinates, cost model, summarize
# --------------------------------------------------------------------------------------------------


def test_coords_and_cost_model():
    cfg = GrokkingParams(p=47, N=192, steps=1000, log_every=10)
    c = training.coords(cfg)
    np.testing.assert_array_equal(c["step"], np.arange(0, 1001, 10))
    np.testing.assert_array_equal(c["neuron"], np.arange(192))
    assert training.flops_per_step(cfg) == 6.0 * cfg.n_train * 192 * 47
    assert training.bytes_per_config(GrokkingParams(p=97, N=500)) > training.bytes_per_config(cfg) > 0


def test_run_output_shapes():
    cfg = GrokkingParams(p=11, N=16, steps=20, log_every=10, xi=0.3)
    out = jax.jit(training.run)(cfg, engine.key_of(cfg.seed))
    for name in metrics.CURVES:
        assert out[name].shape == (3,), name
    assert out["ipr"].shape == (16,)
    acc0 = float(out["train_acc"][0])
    assert 0 <= acc0 <= 1 and float(out["train_loss"][-1]) < float(out["train_loss"][0])


# --------------------------------------------------------------------------------------------------
# A quick-scale grokking run (Figure 2 setting: alpha 0.5, xi 0, wd 5; p 47, N 192, 1000 steps)
# --------------------------------------------------------------------------------------------------


def test_quick_scale_clean_run_groks(grok_ds):
    c = grok_ds.sel(alpha=0.5, xi=0.0, weight_decay=5.0)
    assert float(c["test_acc"].isel(step=0)) < 0.1  # starts at chance
    assert float(c["train_acc"].isel(step=-1)) >= 0.99
    assert float(c["test_acc"].isel(step=-1)) >= 0.99
    assert float(c["mean_ipr"].isel(step=-1)) >= 0.7  # periodic neurons (claim 3)
    assert float(c["mean_ipr"].isel(step=0)) < 0.15  # Gaussian init: about 0.081 at p 47
    assert int(c["phase"]) == Phase.COEXISTENCE
    assert not bool(c["diverged"])
    # weight decay speeds grokking up (wd 0 reaches 99 % test later)
    first = lambda cc: int(cc["step"][np.argmax(cc["test_acc"].values >= 0.99)])  # noqa: E731
    assert first(c) < first(grok_ds.sel(alpha=0.5, xi=0.0, weight_decay=0.0))


def test_summarize_adds_phase_and_finals(grok_ds):
    for name in ("final_train_acc", "final_test_acc", "final_corrupt_acc", "test_peak", "phase", "full_inversion_train_acc"):
        assert name in grok_ds, name
    np.testing.assert_array_equal(grok_ds["final_test_acc"].values, grok_ds["test_acc"].isel(step=-1).values)
    np.testing.assert_array_equal(grok_ds["test_peak"].values, grok_ds["test_acc"].max("step").values)
    flags = dict(zip(grok_ds["phase"].attrs["flag_values"].tolist(), grok_ds["phase"].attrs["flag_meanings"].split()))
    assert flags[int(Phase.COEXISTENCE)] == "coexistence"


def test_results_carry_units_long_names_and_phases_as_cf_flags(grok_ds, tmp_path):
    """CF conventions: units and long_name on every variable (the axes' from the parameters' docs), and the
    phase an integer flag variable with flag_values / flag_meanings (-1: diverged), also after a
    netCDF round trip."""
    path = tmp_path / "r.nc"
    engine.save_dataset(grok_ds, path)
    for ds in (grok_ds, engine.load_dataset(path)):
        phase = ds["phase"]
        assert phase.dtype == np.int8 and "labels" not in phase.attrs
        assert list(np.asarray(phase.attrs["flag_values"])) == [-1, *[int(p) for p in Phase]]
        assert phase.attrs["flag_meanings"].split() == ["diverged", *[p.name.lower() for p in Phase]]
        assert set(np.unique(phase.values)) <= set(np.asarray(phase.attrs["flag_values"]).tolist())
        for name, var in ds.variables.items():
            assert var.attrs.get("long_name"), name
            assert var.attrs.get("units") or "flag_meanings" in var.attrs, name
        assert ds["weight_decay"].attrs["long_name"].startswith("AdamW decoupled weight decay")
        assert ds["test_acc"].attrs["units"] == "1" and "test accuracy" in ds["test_acc"].attrs["long_name"]
        assert "lowest IPR first" in ds["prune_low_test_acc"].attrs["long_name"]
