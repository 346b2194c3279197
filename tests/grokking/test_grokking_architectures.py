"""Other architectures and losses of the grokking study (sims/studies/grokking/model.py; paper Fig. 7,
Apps. M and N): shapes, an independent full-attention reference for the transformer's table trick, the
input-layer IPR decision, training through plain jax.grad, vmapped chunk == single run, validation, the
default path untouched, the panels and the figure."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import xarray as xr

from rote.figures.grokking import architectures as arch_figs
from rote.figures.grokking import helpers as fig_helpers
from rote.sims import engine
from rote.sims.errors import ConfigError
from rote.sims.params import as_dict, replace
from rote.sims.studies.grokking import STUDY, gradient, metrics, model, scales
from rote.sims.studies.grokking import claims as grokking_claims
from rote.sims.studies.grokking import run as training
from rote.sims.studies.grokking.params import GrokkingParams, is_default
from rote.theory import grokking as theory

TINY = GrokkingParams(p=11, N=16, steps=40, log_every=20, alpha=0.6, xi=0.2, weight_decay=0.5)
VARIANTS = {
    "relu": dict(activation="relu"),
    "ce": dict(loss="ce"),
    "mlp3": dict(model="mlp3", lr=0.003),
    "transformer": dict(model="transformer", lr=0.003),
}


@pytest.fixture(scope="module")
def runs():
    """One tiny run per new variant (one compile each), through the engine's single-config path."""
    return {name: engine.run_one(STUDY, replace(TINY, **kw)) for name, kw in VARIANTS.items()}


def indices(p, B=7, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.integers(0, p, B)), jnp.asarray(rng.integers(0, p, B))


# --------------------------------------------------------------------------------------------------
# Shapes and the transformer forward
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VARIANTS)
def test_shapes(name):
    cfg = replace(TINY, **VARIANTS[name])
    w = model.init_weights(cfg, jax.random.PRNGKey(0))
    m, n = indices(cfg.p)
    assert model.logits(w, m, n, cfg).shape == (7, cfg.p)
    assert model.input_ipr(w, cfg).shape == (cfg.N,)
    if cfg.model == "transformer":
        d = cfg.N
        assert (w["tok"].shape, w["pos"].shape, w["W1"].shape, w["W2"].shape, w["Wu"].shape) == ((11, d), (2, d), (d, 4 * d), (4 * d, d), (d, 11))
        assert float(jnp.std(w["tok"])) == pytest.approx(1.0, rel=0.2)  # embeddings N(0, 1)
        assert float(jnp.std(w["W2"])) == pytest.approx((4 * d) ** -0.5, rel=0.2)  # N(0, 1/fan_in)
    if cfg.model == "mlp3":
        assert w["Ht"].shape == (cfg.N, cfg.N)
        assert float(jnp.std(w["Ut"])) == pytest.approx((2 / (2 * cfg.p)) ** 0.5, rel=0.2)  # N(0, 2/fan_in)


def reference_transformer(w, m, n, heads):
    """Textbook encoder block on the full (B, 2, d) sequence in numpy: every position attends to both,
    the MLP runs on both positions, the last position's logits are read and scaled by 1/d."""
    w = {k: np.asarray(v, np.float64) for k, v in w.items()}
    x = w["tok"][np.stack([np.asarray(m), np.asarray(n)], 1)] + w["pos"][None]  # (B, 2, d)
    B, T, d = x.shape
    dh = d // heads
    q, k, v = (np.einsum("btd,de->bte", x, w[name]).reshape(B, T, heads, dh) for name in ("Wq", "Wk", "Wv"))
    scores = np.einsum("bqhe,bkhe->bhqk", q, k) / dh
    att = np.exp(scores - scores.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    y = np.einsum("bhqk,bkhe->bqhe", att, v).reshape(B, T, d)
    x = x + y @ w["Wo"]
    x = x + np.maximum(x @ w["W1"], 0) @ w["W2"]
    return (x[:, -1] @ w["Wu"]) / d


def test_transformer_tables_equal_full_attention_reference():
    cfg = replace(TINY, model="transformer", N=32, heads=4)
    w = model.init_weights(cfg, jax.random.PRNGKey(3))
    m, n = indices(cfg.p, B=20)
    np.testing.assert_allclose(np.asarray(model.logits(w, m, n, cfg)), reference_transformer(w, m, n, 4), rtol=2e-4, atol=2e-6)
    # order matters: (m, n) and (n, m) differ (learned positions), and the output reads position n
    assert not np.allclose(np.asarray(model.logits(w, m, n, cfg)), np.asarray(model.logits(w, n, m, cfg)))


# --------------------------------------------------------------------------------------------------
# Input-layer IPR (the decision of model.py's docstring)
# --------------------------------------------------------------------------------------------------


def test_transformer_ipr_is_per_embedding_dimension_over_tokens():
    cfg = replace(TINY, model="transformer", p=47, N=32)
    w = model.init_weights(cfg, jax.random.PRNGKey(0))
    t = np.arange(cfg.p)[:, None]
    freq, phase = np.arange(1, cfg.N + 1)[None] % 23 + 1, np.linspace(0, 3, cfg.N)[None]
    cosine = dict(w, tok=jnp.asarray(2.0 * np.cos(2 * np.pi * freq * t / cfg.p + phase), jnp.float32))
    np.testing.assert_allclose(np.asarray(model.input_ipr(cosine, cfg)), 1.0, atol=1e-5)  # one Fourier mode per column
    shifted = dict(cosine, pos=cosine["pos"] + 5.0)  # positions are constant over tokens: no effect
    np.testing.assert_allclose(np.asarray(model.input_ipr(shifted, cfg)), 1.0, atol=1e-5)
    # the axis is the column over tokens: cosines along each token's row (over dimensions, with a
    # random frequency and phase per token) leave the columns irregular, and they score low
    rng = np.random.default_rng(0)
    k, phi = rng.integers(1, cfg.N // 2, (cfg.p, 1)), rng.uniform(-np.pi, np.pi, (cfg.p, 1))
    rows = dict(w, tok=jnp.asarray(np.cos(2 * np.pi * k * np.arange(cfg.N)[None] / cfg.N + phi), jnp.float32))
    assert float(jnp.mean(model.input_ipr(rows, cfg))) < 0.3
    gauss = float(jnp.mean(model.input_ipr(w, cfg)))  # N(0, 1) init: the Gaussian reference value
    assert gauss == pytest.approx(theory.reference_ipr(47, "gaussian"), rel=0.15)
    one_hot_cols = dict(w, tok=jnp.eye(cfg.p, cfg.N))
    np.testing.assert_allclose(np.asarray(model.input_ipr(one_hot_cols, cfg)), theory.reference_ipr(47, "one_hot"), rtol=1e-5)


def test_mlp3_ipr_reads_the_first_layer_and_mlp2_keeps_eq4():
    cfg = replace(TINY, model="mlp3", p=23, N=8)
    w = model.init_weights(cfg, jax.random.PRNGKey(1))
    U, V, W = theory.periodic_solution(23, 8, seed=0)
    periodic = dict(w, Ut=jnp.asarray(U.T, jnp.float32), Vt=jnp.asarray(V.T, jnp.float32))
    np.testing.assert_allclose(np.asarray(model.input_ipr(periodic, cfg)), 1.0, atol=1e-5)  # Ht, Wt random: ignored
    mlp2 = replace(TINY, activation="relu")
    w2 = model.init_weights(mlp2, jax.random.PRNGKey(1))
    np.testing.assert_allclose(np.asarray(model.input_ipr(w2, mlp2)), np.asarray(model.neuron_ipr(w2)), rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# Training through jax.grad; engine reproducibility
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VARIANTS)
def test_new_variants_train_without_nan(runs, name):
    out = runs[name]
    steps = TINY.steps // TINY.log_every + 1
    for k in metrics.CURVES:
        assert out[k].shape == (steps,), k
        if k not in ("corrupt_acc", "corrupt_true_acc"):
            assert np.isfinite(out[k]).all(), k
    assert out["ipr"].shape == (TINY.N,) and np.isfinite(out["ipr"]).all()
    assert out["train_loss"][-1] < out["train_loss"][0]
    assert out["train_acc"][-1] > out["train_acc"][0]
    assert np.isnan(out["bn_gamma"]).all() and np.isnan(out["prune_low_test_acc"]).all()
    if name == "ce":  # logits near 0 at init: cross-entropy near log p
        assert out["train_loss"][0] == pytest.approx(np.log(TINY.p), rel=0.05)


def test_vmapped_chunk_equals_single_runs(runs):
    """The engine's rule: a config gives the same numbers inside a chunk as alone (here the transformer
    beside another weight decay and seed)."""
    cfg = replace(TINY, **VARIANTS["transformer"])
    other = replace(cfg, weight_decay=2.0, seed=1)
    out = engine.run_chunk(STUDY, [cfg, other], 2)
    alone = runs["transformer"]
    np.testing.assert_allclose(out["train_loss"][0], alone["train_loss"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(out["test_acc"][0], alone["test_acc"], atol=1e-3)
    np.testing.assert_allclose(out["ipr"][0], alone["ipr"], rtol=1e-4, atol=1e-6)
    assert not np.allclose(out["train_loss"][1], alone["train_loss"])


# --------------------------------------------------------------------------------------------------
# Validation and the default path
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(model="cnn"), "model must be one of"),
        (dict(activation="tanh"), "activation must be one of"),
        (dict(loss="hinge"), "loss must be one of"),
        (dict(model="mlp3", activation="relu"), "applies to model 'mlp2' only"),
        (dict(model="transformer", prune_curves=1), "need the default model"),
        (dict(loss="ce", regularizer="dropout", dropout=0.3), "need the default model"),
        (dict(model="mlp3", regularizer="batchnorm"), "need the default model"),
        (dict(model="transformer", heads=3), r"heads \(3\) must divide N"),
        (dict(heads=0), "heads must be an integer"),
    ],
)
def test_impossible_combinations_raise_one_line_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match) as err:
        replace(TINY, **kw)
    assert "\n" not in str(err.value)


def test_heads_only_constrain_the_transformer_width():
    assert replace(TINY, N=97).N == 97  # an MLP width need not divide by the (unused) heads
    assert replace(TINY, model="transformer", N=24, heads=8).heads == 8


def test_new_fields_are_static_and_default_to_the_paper_model():
    from rote.sims.params import static_fields

    assert {"model", "activation", "loss", "heads"} <= set(static_fields(GrokkingParams))
    p = GrokkingParams()
    assert (p.model, p.activation, p.loss) == ("mlp2", "quadratic", "mse") and is_default(p)


def test_default_keeps_the_hand_written_gradient_and_others_use_jax_grad(monkeypatch):
    seen = []
    original = gradient.loss_and_grad

    def spy(*args, **kwargs):
        seen.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(gradient, "loss_and_grad", spy)
    jax.make_jaxpr(training.train)(replace(TINY, steps=20), jax.random.PRNGKey(0))
    assert seen  # the default traces through the hand-written gradient
    seen.clear()
    for kw in VARIANTS.values():
        jax.make_jaxpr(training.train)(replace(TINY, steps=20, **kw), jax.random.PRNGKey(0))
    assert not seen


def test_generic_mlp2_is_the_default_model():
    """The generic forward on mlp2 / quadratic / MSE is the default model's loss, from the same init."""
    w = model.init_weights(TINY, jax.random.PRNGKey(4))
    ref = model.init_weights(TINY, jax.random.PRNGKey(4))
    for k in ref:
        np.testing.assert_array_equal(np.asarray(w[k]), np.asarray(ref[k]))
    m, n = indices(TINY.p, B=30)
    y = (m + n) % TINY.p
    assert float(model.mean_loss(w, m, n, y, TINY)) == pytest.approx(float(model.mse(model.forward(w, m, n), y)), rel=1e-6)
    z = model.logits(w, m, n, replace(TINY, loss="ce"))
    ce = optax.softmax_cross_entropy_with_integer_labels(z, y)
    np.testing.assert_allclose(np.asarray(model.row_losses(z, y, "ce")), np.asarray(ce), rtol=1e-5)
    relu = replace(TINY, activation="relu")
    np.testing.assert_allclose(np.asarray(model.logits(w, m, n, relu)), np.asarray(jax.nn.relu(w["Ut"][m] + w["Vt"][n]) @ w["Wt"]), rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# Panels and figure
# --------------------------------------------------------------------------------------------------


def test_architecture_panels_at_quick_and_paper_scale():
    for scale, width in ((scales.quick_scale(), {"transformer": 64, "mlp3": 96}), (scales.paper_scale(), {"transformer": 128, "mlp3": 500})):
        sweeps = scale.sweeps()
        assert {"transformer", "mlp3", "cross_entropy", "relu"} <= set(sweeps)
        assert sweeps["transformer"][0].model == "transformer" and sweeps["mlp3"][0].model == "mlp3"
        assert sweeps["cross_entropy"][0].loss == "ce" and sweeps["relu"][0].activation == "relu"
        for name, N in width.items():
            assert sweeps[name][0].N == N
        for name in arch_figs.PANELS:
            engine.Grid.build(*sweeps[name])
    assert scales.quick_scale().base.p == 47 and sweeps["transformer"][0].lr == 1e-3  # paper: Fig. 7 lr


def fake_panel(model_kw):
    """A summarized-looking panel (alpha x xi x wd x seed) without training: phases chosen by hand."""
    cfg = replace(TINY, **model_kw)
    alphas, xis, wds, seeds = [0.5, 0.9], [0.2, 0.35], [0.0, 3.0], [0, 1]
    shape = (2, 2, 2, 2)
    phase = np.full(shape, int(theory.Phase.MEMORIZATION))
    phase[1, 0, 1] = int(theory.Phase.FULL_INVERSION)  # alpha 0.9, xi 0.2, wd 3: the histogram cell
    dims = ("alpha", "xi", "weight_decay", "seed")
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {
            "phase": (dims, phase.astype(np.int8)),
            "final_corrupt_acc": (dims, rng.uniform(0, 1, shape)),
            "ipr": ((*dims, "neuron"), rng.uniform(0, 1, (*shape, cfg.N))),
        },
        coords={"alpha": alphas, "xi": xis, "weight_decay": wds, "seed": seeds, "neuron": np.arange(cfg.N)},
        attrs={"config": json.dumps({"base": as_dict(cfg)}), "scale": "quick"},
    )
    return ds


def test_architecture_figures_are_written_for_present_panels(tmp_path):
    panels = {"transformer": fake_panel(VARIANTS["transformer"]), "relu": fake_panel(VARIANTS["relu"]), "wd": None}
    assert arch_figs.histogram_cell(fig_helpers.majority_phase(panels["relu"])) == (0.9, 0.2)
    written = arch_figs.architecture_figures(panels, tmp_path)
    assert [p.name for p in written] == ["architecture_transformer.png", "architecture_relu.png"]
    assert all(p.stat().st_size > 10_000 for p in written)
    assert arch_figs.architecture_figures({"wd": None}, tmp_path) == []


# --------------------------------------------------------------------------------------------------
# Claims 10-13 (claims.architecture_claims): pass on the measured pattern, fail on wrong input
# --------------------------------------------------------------------------------------------------


def phase_panel(table):
    """A panel holding only ``phase`` over alpha {0.7, 0.9} x xi {0.2, 0.35} x the wd keys of ``table``
    ({wd: [[phase(alpha 0.7, xi 0.2), (0.7, 0.35)], [(0.9, 0.2), (0.9, 0.35)]]}), seed 0 (a pilot seed)."""
    wds = sorted(table)
    values = np.stack([np.asarray(table[w], dtype=np.int8) for w in wds], -1)
    return xr.Dataset({"phase": (("alpha", "xi", "weight_decay"), values)}, coords={"alpha": [0.7, 0.9], "xi": [0.2, 0.35], "weight_decay": wds, "seed": 0})


def out_of_sample(ds, name):
    """The panel ``name``_oos as the quick scale sweeps it (its cells, its seeds), holding the phases of the
    seed-0 panel ``ds`` at every seed: the pattern of the pilots, reproduced out of sample."""
    _, grid = scales.quick_scale().sweeps()[f"{name}_oos"]
    sel = {k: [v for v in grid[k] if np.isclose(ds[k].values, v).any()] for k in ("alpha", "xi", "weight_decay") if k in grid}
    return ds.drop_vars("seed").sel(sel, method="nearest").expand_dims(seed=list(grid["seed"]))


P = theory.Phase
MEM, CO, PI, FI, CONF, FORG = (int(x) for x in (P.MEMORIZATION, P.COEXISTENCE, P.PARTIAL_INVERSION, P.FULL_INVERSION, P.CONFUSION, P.FORGETTING))
MEASURED = {  # quick scale, seed 0 (the claimed parts held for seeds 1 and 2 as well)
    "wd": phase_panel({0.0: [[CO, MEM], [CO, CO]], 10.0: [[FI, FI], [FI, FI]]}),
    "cross_entropy": phase_panel({0.0: [[MEM, MEM], [MEM, MEM]], 2.5: [[CO, MEM], [CO, MEM]], 5.0: [[FI, FI], [FI, FI]], 10.0: [[CONF, CONF], [FORG, CONF]]}),
    "relu": phase_panel({0.0: [[MEM, MEM], [CO, MEM]], 10.0: [[FI, PI], [FI, FI]]}),
    "mlp3": phase_panel({0.0: [[MEM, MEM], [CONF, CONF]], 5.0: [[FI, MEM], [FI, PI]], 20.0: [[CONF, CONF], [CONF, CONF]]}),
}
TRANSFORMER = phase_panel({0.0: [[MEM, MEM], [MEM, MEM]], 3.0: [[FI, MEM], [FI, CONF]]}).assign_coords(alpha=[0.8, 0.9], xi=[0.15, 0.3])
TRANSFORMER["final_test_acc"] = TRANSFORMER["phase"] * 0.0 + 0.05
TRANSFORMER["final_corrupt_acc"] = TRANSFORMER["phase"] * 0.0 + 1.0
TRANSFORMER["final_test_acc"].loc[dict(alpha=0.9, xi=0.15, weight_decay=3.0)] = 0.964
TRANSFORMER["final_corrupt_acc"].loc[dict(alpha=0.9, xi=0.15, weight_decay=3.0)] = 0.027
MEASURED["transformer"] = TRANSFORMER
PILOT_ONLY = dict(MEASURED)
MEASURED.update({f"{name}_oos": out_of_sample(ds, name) for name, ds in PILOT_ONLY.items()})
CLAIM_OF = {"cross_entropy": 0, "relu": 1, "transformer": 2, "mlp3": 3}


def test_architecture_claims_pass_on_the_measured_phases():
    verdicts = [c(MEASURED) for c in grokking_claims.architecture_claims(scales.quick_scale())]
    assert [v.passed for v in verdicts] == [True] * 4, [v.measured for v in verdicts]
    for v in verdicts:  # both groups reported
        assert "pilot seeds 0:" in v.measured and "out of sample, seeds 3" in v.measured, v.measured
    assert grokking_claims.architecture_claims(scales.paper_scale()) == [] and grokking_claims.architecture_claims(scales.smoke_scale()) == []


@pytest.mark.parametrize("name", sorted(CLAIM_OF))
def test_architecture_claims_fail_on_pilot_evidence_alone(name):
    """The cells and weight decays were chosen on seeds 0-2: the pilot seed alone does not pass a claim."""
    v = grokking_claims.architecture_claims(scales.quick_scale())[CLAIM_OF[name]]({k: d for k, d in MEASURED.items() if k != f"{name}_oos"})
    assert not v.passed and "not reproduced out of sample" in v.measured, v.measured


def rolled_wd(ds):
    """The weight-decay labels moved one place (each run labelled with the next wd; reversing three labels
    would keep the middle one)."""
    return ds.assign_coords(weight_decay=np.roll(ds["weight_decay"].values, 1)).sortby("weight_decay")


@pytest.mark.parametrize("name", sorted(CLAIM_OF))
def test_architecture_claims_fail_when_not_reproduced_out_of_sample(name):
    """Right on the pilot seed, wrong (weight-decay labels moved) on the out-of-sample seeds: fails, saying so."""
    v = grokking_claims.architecture_claims(scales.quick_scale())[CLAIM_OF[name]]({**MEASURED, f"{name}_oos": rolled_wd(MEASURED[f"{name}_oos"])})
    assert not v.passed and "NOT REPRODUCED OUT OF SAMPLE" in v.measured, v.measured


def test_comparison_claims_need_the_quadratic_net_at_the_out_of_sample_seeds():
    for name in ("cross_entropy", "relu"):
        v = grokking_claims.architecture_claims(scales.quick_scale())[CLAIM_OF[name]]({k: d for k, d in MEASURED.items() if k != "wd_oos"})
        assert not v.passed and "no quadratic" in v.measured, v.measured


def reversed_wd(ds):
    """The same phases with the weight-decay labels reversed (a swapped-labels input)."""
    return ds.assign_coords(weight_decay=ds["weight_decay"].values[::-1]).sortby("weight_decay")


@pytest.mark.parametrize(
    "broken",
    [
        {"cross_entropy": reversed_wd(MEASURED["cross_entropy"])},
        {"cross_entropy": MEASURED["cross_entropy"].where(MEASURED["cross_entropy"]["weight_decay"] != 10.0, FI)},  # no narrow band
        {"wd": MEASURED["wd"].where(MEASURED["wd"]["weight_decay"] != 10.0, CONF)},  # MSE fails at wd 10 too
        {"cross_entropy": MEASURED["relu"]},  # another panel: lacks wd 5
    ],
)
def test_ce_band_claim_fails_on_wrong_input(broken):
    claim = grokking_claims.architecture_claims(scales.quick_scale())[0]
    assert not claim({**MEASURED, **broken}).passed


@pytest.mark.parametrize(
    "broken",
    [
        {"relu": reversed_wd(MEASURED["relu"])},
        {"relu": MEASURED["wd"]},  # the quadratic net itself: no fewer generalizing cells
        {"relu": MEASURED["relu"].where(MEASURED["relu"]["weight_decay"] != 10.0, MEM)},
    ],
)
def test_relu_claim_fails_on_wrong_input(broken):
    claim = grokking_claims.architecture_claims(scales.quick_scale())[1]
    assert not claim({**MEASURED, **broken}).passed


@pytest.mark.parametrize(
    "broken",
    [
        {"transformer": reversed_wd(MEASURED["transformer"])},
        {"transformer": MEASURED["transformer"].assign(final_corrupt_acc=MEASURED["transformer"]["final_corrupt_acc"] * 0 + 0.9)},  # keeps memorizing
        {"transformer": MEASURED["transformer"].assign(final_test_acc=MEASURED["transformer"]["final_test_acc"] * 0 + 0.5)},  # never generalizes
        {"transformer": MEASURED["transformer"].assign(phase=MEASURED["transformer"]["phase"] * 0 + CO)},  # coexists at wd 0
    ],
)
def test_transformer_claim_fails_on_wrong_input(broken):
    assert not grokking_claims.architecture_claims(scales.quick_scale())[2]({**MEASURED, **broken}).passed


@pytest.mark.parametrize(
    "broken",
    [
        {"mlp3": reversed_wd(MEASURED["mlp3"])},
        {"mlp3": MEASURED["mlp3"].where(MEASURED["mlp3"]["weight_decay"] != 0.0, CO)},  # generalizes at wd 0
        {"mlp3": MEASURED["relu"]},  # another panel: lacks wd 5 and 20
    ],
)
def test_mlp3_claim_fails_on_wrong_input(broken):
    assert not grokking_claims.architecture_claims(scales.quick_scale())[3]({**MEASURED, **broken}).passed


def test_cli_set_applies_single_values_together(monkeypatch, tmp_path):
    """`--set model=mlp3 --set prune_curves=0` on a scale whose base prunes: valid only together, in
    either order (the smoke base has prune_curves 1, which the new models refuse)."""
    from rote.sims import cli

    seen = []
    monkeypatch.setattr(engine, "sweep", lambda study, base, axes, path, **kw: seen.append(base))
    for sets in (["model=mlp3", "prune_curves=0"], ["prune_curves=0", "model=mlp3"]):
        args = ["sweep", "grokking", "--scale", "smoke", "--out", str(tmp_path), "--no-progress"]
        for item in sets:
            args += ["--set", item]
        assert cli.main(args) == 0
    assert [(b.model, b.prune_curves) for b in seen] == [("mlp3", 0), ("mlp3", 0)]
    assert cli.main(["sweep", "grokking", "--scale", "smoke", "--out", str(tmp_path), "--set", "model=mlp3"]) == 2  # one-line error
