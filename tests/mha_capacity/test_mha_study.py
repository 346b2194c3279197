"""The mha-capacity study: model equivalences, data, masking, capacity measurement, claims."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from rote.sims import engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.mha_capacity import STUDY
from rote.sims.studies.mha_capacity import claims as mc
from rote.sims.studies.mha_capacity import run as run_mod
from rote.sims.studies.mha_capacity.model import build_model, official_full_logits
from rote.sims.studies.mha_capacity.params import MHAParams
from rote.sims.studies.mha_capacity.run import make_data, per_example
from rote.sims.studies.mha_capacity.scales import paper_scale, quick_scale, smoke_scale
from rote.theory import mha_capacity as th

TINY = MHAParams(d=8, D=8, n_max=4, n=4, d_h_max=4, d_h=4, H_max=4, T_max=32, T=32, T_start=8, C=3, steps=40, log_every=20, H=2)


def _init(params, key=0):
    q, c, y = make_data(params, jax.random.PRNGKey(key))
    model = build_model(params)
    mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    variables = model.init(jax.random.PRNGKey(key + 1), q[:1], c[:1], mask, params.H, params.n, params.d_h)
    return model, variables, q, c, y, mask


@pytest.mark.parametrize("context", ["fixed", "random", "perm"])
def test_query_row_equals_full_masked_attention(context):
    params = replace(TINY, context=context)
    model, variables, q, c, _, mask = _init(params)
    fast, _ = model.apply(variables, q, c, mask, params.H)
    full = official_full_logits(variables, q, c, params.H, params.D)
    np.testing.assert_allclose(fast, full, atol=2e-6)


def test_query_token_is_never_attended():
    """Changing the query's own embedding row as a key must not change attention (the -inf mask)."""
    params = TINY
    model, variables, q, c, _, mask = _init(params)
    _, attn = model.apply(variables, q, c, mask, params.H)
    assert attn.shape == (params.T, params.H_max, params.n_max)
    np.testing.assert_allclose(attn.sum(-1), 1.0, rtol=1e-6)


def test_masked_heads_equal_a_smaller_model():
    """H active heads of an H_max model give the same logits as an H-head model with those weights."""
    big = replace(TINY, H_max=4, H=2)
    small = replace(TINY, H_max=2, H=2)
    model_b, var_b, q, c, _, mask_b = _init(big)
    model_s, var_s, _, _, _, mask_s = _init(small)
    p = jax.tree_util.tree_map(lambda x: x, var_b["params"])
    var_s = {"params": {**var_s["params"], "embed": p["embed"], "decoder": p["decoder"], **{k: p[k][:2] for k in ("Wq", "Wk", "Wv", "Wo")}}}
    out_b, _ = model_b.apply(var_b, q, c, mask_b, 2)
    out_s, _ = model_s.apply(var_s, q, c, mask_s, 2)
    np.testing.assert_allclose(out_b, out_s, atol=1e-6)


@pytest.mark.parametrize("context", ["fixed", "random"])
@pytest.mark.parametrize("model", ["official", "bare"])
def test_masked_context_rows_and_head_columns_equal_a_smaller_model(context, model):
    """n of n_max context rows and d_h of d_h_max key/query columns give the outputs of an (n, d_h) model
    with the same weights (sliced), and the masked rows get attention exactly 0."""
    C = 3 if model == "official" else 1
    big = replace(TINY, context=context, model=model, C=C, n_max=4, n=2, d_h_max=4, d_h=3)
    small = replace(TINY, context=context, model=model, C=C, n_max=2, n=2, d_h_max=3, d_h=3)
    model_b, var_b, q, c, _, mask = _init(big)
    model_s, var_s, *_ = _init(small)
    p = dict(var_b["params"])
    sliced = {**p, "Wq": p["Wq"][..., :3], "Wk": p["Wk"][..., :3]}
    out_b, attn_b = model_b.apply(var_b, q, c, mask, big.H, big.n, big.d_h)
    out_s, attn_s = model_s.apply({"params": sliced}, q, c[:, :2], mask, small.H, small.n, small.d_h)
    np.testing.assert_allclose(out_b, out_s, atol=1e-6)
    np.testing.assert_allclose(attn_b[..., :2], attn_s, atol=1e-6)
    assert float(jnp.abs(attn_b[..., 2:]).max()) == 0.0


def test_masked_head_columns_get_zero_gradient_and_xavier_uses_active_d_h():
    params = replace(TINY, d_h_max=4, d_h=2)
    model, variables, q, c, y, mask = _init(params)

    def loss(v):
        out, _ = model.apply(v, q, c, mask, params.H, params.n, params.d_h)
        return per_example(params, out, y)[0].mean()

    g = jax.grad(loss)(variables)["params"]
    for name in ("Wq", "Wk"):
        assert float(jnp.abs(g[name][: params.H, :, 2:]).max()) == 0.0
        assert float(jnp.abs(g[name][: params.H, :, :2]).max()) > 0.0
    wq = np.asarray(variables["params"]["Wq"])
    assert np.abs(wq).max() <= np.sqrt(6.0 / (params.D + 2))
    assert np.abs(wq).max() > np.sqrt(6.0 / (params.D + 4))


def test_masked_heads_get_zero_gradient():
    params = TINY
    model, variables, q, c, y, mask = _init(params)

    def loss(v):
        out, _ = model.apply(v, q, c, mask, params.H, params.n, params.d_h)
        return per_example(params, out, y)[0].mean()

    g = jax.grad(loss)(variables)["params"]
    for name in ("Wq", "Wk", "Wv", "Wo"):
        assert float(jnp.abs(g[name][params.H :]).max()) == 0.0
        assert float(jnp.abs(g[name][: params.H]).max()) > 0.0


def test_wo_xavier_bound_uses_active_heads():
    params = replace(TINY, H_max=4, H=1)
    _, variables, *_ = _init(params)
    bound = np.sqrt(6.0 / (1 + params.D))
    wo = np.asarray(variables["params"]["Wo"])
    assert np.abs(wo).max() <= bound
    assert np.abs(wo).max() > np.sqrt(6.0 / (4 + params.D))  # wider than an H_max-based bound allows


def test_data_nested_in_T_and_context_kinds():
    a = make_data(replace(TINY, T=16, context="random"), jax.random.PRNGKey(3))
    b = make_data(replace(TINY, T=32, context="random"), jax.random.PRNGKey(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y[: len(x)])
    q, c, y = make_data(replace(TINY, context="fixed"), jax.random.PRNGKey(0))
    assert c.shape == (1, TINY.n_max, TINY.d) and q.shape == (TINY.T, TINY.d) and y.shape == (TINY.T,)
    assert float(q.min()) >= 0 and float(q.max()) <= 1 and int(y.max()) < TINY.C
    _, cp, _ = make_data(replace(TINY, context="perm"), jax.random.PRNGKey(0))
    for ctx in np.asarray(cp):
        assert len(np.unique(ctx, axis=0)) == TINY.n  # n distinct bag vectors
    _, _, yr = make_data(replace(TINY, C=1), jax.random.PRNGKey(0))
    assert yr.dtype == jnp.float32 and float(yr.min()) >= 0


@pytest.mark.parametrize(
    "changes",
    [dict(context="shared"), dict(H=5), dict(H=0), dict(T_start=33), dict(T=0), dict(target_acc=0.0), dict(target_acc=1.5), dict(resolution=1.0), dict(search="grid"), dict(steps=30), dict(lr=0.0), dict(model="bare"), dict(seed=-1), dict(n=0), dict(n=5), dict(d_h=5), dict(d_h=0)],
)
def test_bad_config_is_a_config_error(changes):
    (name,) = changes
    with pytest.raises(ConfigError, match="bare layer" if name == "model" else name):  # the message names the field
        replace(TINY, **changes)


def test_bare_layer_runs_for_regression():
    out = engine.run_one(STUDY, replace(TINY, model="bare", C=1))
    assert np.all(np.isfinite(out["probe_loss"][out["probe_used"]]))


def test_vmapped_equals_alone_and_seed_reproducible():
    configs = [replace(TINY, H=h, seed=s) for h in (1, 3) for s in (0, 1)]
    chunk = engine.run_chunk(STUDY, configs, 4)
    for i, cfg in enumerate(configs):
        alone = engine.run_one(STUDY, cfg)
        np.testing.assert_array_equal(chunk["probe_T"][i], alone["probe_T"])
        np.testing.assert_allclose(chunk["probe_loss"][i], alone["probe_loss"], rtol=1e-6, atol=1e-7)
    again = engine.run_chunk(STUDY, configs, 4)
    np.testing.assert_array_equal(chunk["probe_loss"], again["probe_loss"])
    assert not np.array_equal(chunk["probe_loss"][0], chunk["probe_loss"][1])


def test_training_memorizes_a_small_set():
    out = engine.run_one(STUDY, replace(TINY, search="fixed", H=4, T=16, steps=400, log_every=100, lr=1e-2))
    assert out["probe_acc"].shape == (1,) and out["probe_acc"][0] == 1.0 and out["probe_steps"][0] == 400  # no early stop


def _simulate_search(params, threshold: int):
    """The search's probe sequence against an oracle that memorizes exactly T <= threshold."""
    T, lo, hi, probes = params.T_start, 0, params.T_max + 1, []
    for _ in range(params.max_probes):
        probes.append(T)
        lo, hi = (T, hi) if T <= threshold else (lo, T)
        T_next, done = run_mod.next_probe(params, jnp.int32(T), jnp.int32(lo), jnp.int32(hi))
        T = int(T_next)
        if bool(done):
            break
    return lo, hi, probes


@pytest.mark.parametrize("threshold", [1, 5, 37, 63, 64, 200, 511, 512])
def test_search_brackets_the_threshold_to_the_resolution_or_stops_at_a_bound(threshold):
    params = replace(TINY, T_max=512, T_start=64, resolution=1 / 16, max_probes=20)
    lo, hi, probes = _simulate_search(params, threshold)
    if threshold >= 512:
        assert lo == 512 and hi == 513  # at the upper bound: not a capacity
    else:
        assert lo <= threshold < hi and hi - lo <= max(1, int(lo / 16))
    assert len(probes) <= 12 and len(set(probes)) == len(probes)


def test_search_with_no_success_stops_at_T_1():
    params = replace(TINY, T_max=512, T_start=64)
    lo, hi, probes = _simulate_search(params, 0)
    assert (lo, hi) == (0, 1) and probes == [64, 32, 16, 8, 4, 2, 1]


def test_run_reports_its_probes_consistently():
    out = engine.run_one(STUDY, replace(TINY, T_max=32, T_start=8, steps=200, log_every=50, lr=1e-2, H=4))
    used = out["probe_used"]
    T, acc = out["probe_T"][used], out["probe_acc"][used]
    memorized = acc >= 0.99
    assert out["capacity"] == (T[memorized].max() if memorized.any() else 0)
    assert out["capacity_fail"] == (T[~memorized].min() if (~memorized).any() else 33)
    early = out["probe_steps"][used][memorized]
    assert np.all(early <= 200) and np.all(out["probe_steps"][used][~memorized] == 200)  # failures run the whole budget
    rows = np.isfinite(out["max_attn"]).any(1)
    assert rows.sum() == out["capacity"]  # attention kept for the memorized examples only


def test_smoke_sweep_summarizes(smoke_heads):
    ds = smoke_heads
    for var in ("capacity_estimate", "capacity_resolved", "capacity_at_bound", "capacity_mean", "capacity_lo", "capacity_hi",
                "saturated_fraction", "acc", "memorized"):
        assert var in ds, var
    assert ds["capacity_estimate"].dims == ("H", "seed")
    bound = ds["capacity_at_bound"].values
    assert np.all(np.isnan(ds["capacity_estimate"].values[bound]))  # a value at a search bound never counts
    assert float(ds["saturated_fraction_init"].max()) < 0.5
    defined = ds["capacity_lo"].notnull()
    assert ((ds["capacity_lo"] <= ds["capacity_mean"]) | ~defined).all() and ((ds["capacity_mean"] <= ds["capacity_hi"]) | ~defined).all()


def test_every_result_variable_has_units_and_long_name_and_the_grid_dim_order(smoke_heads):
    ds = smoke_heads
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and var.attrs.get("units"), name
    grid = ("H", "seed")
    for name, var in ds.data_vars.items():  # every variable lists the grid axes it has in the grid's order
        assert [d for d in var.dims if d in grid] == [d for d in grid if d in var.dims], (name, var.dims)


# ---------------------------------------------------------------------------------------------
# Claims: each passes on the predicted shape and fails on the plausible alternative
# ---------------------------------------------------------------------------------------------


def _panel(axis, values, per_seed, var="capacity_estimate"):
    """A Dataset shaped like a summarized panel: capacity_estimate (axis, seed)."""
    per_seed = np.asarray(per_seed, float)
    return xr.Dataset({var: ((axis, "seed"), per_seed)}, coords={axis: list(values), "seed": np.arange(per_seed.shape[1])})


H_VALUES = np.array([1, 2, 3, 4, 6, 8])
NOISE = np.array([-6.0, 0.0, 6.0])  # per-seed offsets (5 seeds below)
NOISE5 = np.array([-8.0, -4.0, 0.0, 4.0, 8.0])


def _shape(f, noise=NOISE5):
    return _panel("H", H_VALUES, [[f(h) + e for e in noise] for h in H_VALUES])


def test_growth_claim_passes_linear_and_fails_sqrt_log_quadratic():
    assert mc.check_growth(_shape(lambda h: 27 * h - 20), "H")[1]
    assert mc.check_growth(_shape(lambda h: 27 * h + 5), "H")[1]  # the intercept is free
    for wrong in (lambda h: 140 * np.sqrt(h), lambda h: 150 * np.log(h) + 60, lambda h: 6 * h**2 + 60, lambda h: 200 + 0 * h):
        measured, ok = mc.check_growth(_shape(wrong), "H")
        assert not ok, measured
    assert not mc.check_growth(_shape(lambda h: 27 * h).assign_coords(H=H_VALUES[::-1]), "H")[1]  # reversed labels


def test_growth_claim_fails_on_an_unresolved_config():
    ds = _shape(lambda h: 27 * h)
    ds["capacity_estimate"][-1, 0] = np.nan
    measured, ok = mc.check_growth(ds, "H")
    assert not ok and "not resolved" in measured


def test_monotone_claim_passes_concave_growth_and_fails_flat_or_falling():
    n = [1, 2, 4, 8, 12]
    concave = _panel("n", n, [[c + e for e in NOISE] for c in (1, 76, 128, 187, 203)])
    measured, ok = mc.check_monotone(concave, "n")
    assert ok and "linear not reproduced" in measured
    assert not mc.check_monotone(_panel("n", n, [[150 + 2 * e for e in NOISE]] * 5), "n")[1]  # flat within noise
    assert not mc.check_monotone(concave.assign_coords(n=n[::-1]).sortby("n"), "n")[1]  # falling
    dip = _panel("n", n, [[c + e for e in NOISE] for c in (1, 120, 60, 187, 203)])
    assert not mc.check_monotone(dip, "n")[1]


def _head_dim(n, dims=(1, 2, 3, 4, 6, 8, 12, 16), noise=NOISE):
    return _panel("d_h", dims, [[100 + 30 * min(d, n - 0.5) + e for e in noise] for d in dims])


def test_breakpoint_tracks_n_and_fails_when_told_the_wrong_n():
    assert mc.check_breakpoint({4: _head_dim(4), 8: _head_dim(8)})[1]
    assert not mc.check_breakpoint({8: _head_dim(4), 4: _head_dim(8)})[1]  # panels swapped
    assert not mc.check_breakpoint({4: _head_dim(8)})[1]  # the n = 8 curve told n = 4
    assert not mc.check_breakpoint({8: _head_dim(4)})[1]
    still_growing = _panel("d_h", (1, 2, 4, 8, 16), [[100 + 20 * d + e for e in NOISE] for d in (1, 2, 4, 8, 16)])
    assert not mc.check_breakpoint({8: still_growing})[1]  # breakpoint at the largest d_h
    flat = _panel("d_h", (1, 2, 4, 8, 16), [[300 + e for e in NOISE]] * 5)
    assert not mc.check_breakpoint({8: flat})[1]


def test_fit_breakpoint_recovers_a_known_knee():
    x = np.repeat([1.0, 2, 3, 4, 6, 8, 12, 16], 2)
    k, a, b = mc.fit_breakpoint(x, 10 + 5 * np.minimum(x, 5.0))
    assert k == pytest.approx(5.0, abs=0.05) and a == pytest.approx(10) and b == pytest.approx(5)


def test_budget_claim():
    short = _panel("H", (2, 8), [[30, 34, 32], [180, 200, 190]])
    assert mc.check_budget(_panel("H", (2, 8), [[31, 35, 33], [190, 205, 200]]), short)[1]
    assert not mc.check_budget(_panel("H", (2, 8), [[31, 35, 33], [260, 280, 270]]), short)[1]  # +42 %: budget too short


def test_random_exceeds_shared_claim():
    shared = _panel("H", H_VALUES, [[27 * h + e for e in NOISE] for h in H_VALUES])
    more = _panel("H", (1, 2, 4), [[80 * h + e for e in NOISE] for h in (1, 2, 4)])
    assert mc.check_random_exceeds_shared(more, shared)[1]
    same = _panel("H", (1, 2, 4), [[27 * h + 2 * e for e in NOISE] for h in (1, 2, 4)])
    assert not mc.check_random_exceeds_shared(same, shared)[1]


def test_saturation_claim():
    after = _panel("H", (1, 2, 4), [[0.3, 0.4, 0.5]] * 3, "saturated_fraction")
    before = _panel("H", (1, 2, 4), [[0.0, 0.01, 0.0]] * 3, "saturated_fraction_init")
    assert mc.check_saturation(xr.merge([after, before]))[1]
    unchanged = _panel("H", (1, 2, 4), [[0.03, 0.0, 0.02]] * 3, "saturated_fraction")
    assert not mc.check_saturation(xr.merge([unchanged, before]))[1]


def test_theory_claims_fail_on_wrong_inputs():
    small = ((2, 4, 8), (3, 4, 16))
    assert mc.check_construction(grid=small)[1]
    assert not mc.check_construction(extra_examples=1, grid=small)[1]
    assert mc.check_rank_bound()[1]
    assert not mc.check_rank_bound(bound_offset=-1)[1]
    assert not mc.check_rank_bound(bound_offset=+1)[1]


def test_missing_panel_is_a_failed_claim_not_a_crash():
    verdicts = [c({}) for c in mc.claims(quick_scale())[2:]]
    assert verdicts and not any(v.passed for v in verdicts)


def test_claims_read_their_sizes_from_the_scale():
    """Smoke scale: the two theory claims only; quick and paper: the breakpoint at each head_dim panel's n."""
    assert [c.name for c in mc.claims(smoke_scale())] == [c.name for c in mc.theory_claims()]
    for scale in (quick_scale(), paper_scale()):
        ns = [scale.panels[name][0].n for name, _ in scale.cells.plateau_panels]
        assert ns == [n for _, n in scale.cells.plateau_panels] and len(set(ns)) == 2
        assert any(", ".join(map(str, ns)) in c.name for c in mc.claims(scale))


def test_params_dataclass_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TINY.H = 3


@pytest.mark.parametrize("context", ["fixed", "random"])
def test_bare_layer_matches_theory_z_matrix(context):
    """The flax bare layer computes the theory's head blocks E^T softmax(E W_K W_Q^T e)."""
    params = replace(TINY, model="bare", C=1, context=context)
    model, variables, q, c, _, mask = _init(params)
    p = variables["params"]
    Ws = np.einsum("hdk,hek->hde", np.asarray(p["Wk"], np.float64), np.asarray(p["Wq"], np.float64))  # W_h = W_K W_Q^T
    Z = th.z_matrix(np.asarray(q, np.float64), np.asarray(c if context == "random" else c[0], np.float64), Ws)
    v = np.asarray(p["v"], np.float64) * np.asarray(mask)[:, None]
    out, _ = model.apply(variables, q, c, mask, params.H)
    np.testing.assert_allclose(np.asarray(out[:, 0]), Z.T @ v.reshape(-1), rtol=1e-4, atol=1e-5)
