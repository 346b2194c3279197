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
from rote.sims.studies.mha_capacity.analysis import capacity_from_curve
from rote.sims.studies.mha_capacity.model import build_model, official_full_logits
from rote.sims.studies.mha_capacity.params import MHAParams
from rote.sims.studies.mha_capacity.run import make_data, per_example
from rote.sims.studies.mha_capacity.scales import paper_scale, quick_scale, smoke_scale
from rote.theory import mha_capacity as th

TINY = MHAParams(d=8, D=8, n_max=4, n=4, d_h_max=4, d_h=4, H_max=4, T_max=32, T=32, C=3, steps=40, log_every=20, H=2)


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
    [dict(context="shared"), dict(H=5), dict(H=0), dict(T=33), dict(T=0), dict(steps=30), dict(lr=0.0), dict(model="bare"), dict(seed=-1), dict(n=0), dict(n=5), dict(d_h=5), dict(d_h=0)],
)
def test_bad_config_is_a_config_error(changes):
    (name,) = changes
    with pytest.raises(ConfigError, match="bare layer" if name == "model" else name):  # the message names the field
        replace(TINY, **changes)


def test_bare_layer_runs_for_regression():
    out = engine.run_one(STUDY, replace(TINY, model="bare", C=1))
    assert np.all(np.isfinite(out["train_loss"]))


def test_vmapped_equals_alone_and_seed_reproducible():
    configs = [replace(TINY, H=h, seed=s) for h in (1, 3) for s in (0, 1)]
    chunk = engine.run_chunk(STUDY, configs, 4)
    for i, cfg in enumerate(configs):
        alone = engine.run_one(STUDY, cfg)
        np.testing.assert_allclose(chunk["train_loss"][i], alone["train_loss"], rtol=1e-6, atol=1e-7)
    again = engine.run_chunk(STUDY, configs, 4)
    np.testing.assert_array_equal(chunk["train_loss"], again["train_loss"])
    assert not np.array_equal(chunk["train_loss"][0], chunk["train_loss"][1])


def test_training_memorizes_a_small_set():
    out = engine.run_one(STUDY, replace(TINY, H=4, T=16, steps=400, log_every=100, lr=1e-2))
    assert out["train_acc"][np.argmin(out["train_loss"])] == 1.0


def test_capacity_from_curve_interpolates_censors_and_fails():
    T = np.array([16.0, 32, 64, 128])
    assert capacity_from_curve(T, np.array([1.0, 1.0, 0.95, 0.8]))[0] == pytest.approx(32 + 32 * (0.01 / 0.05))
    assert capacity_from_curve(T, np.array([1.0, 1.0, 1.0, 1.0])) == (128.0, True)
    cap, censored = capacity_from_curve(T, np.array([0.5, 0.4, 0.3, 0.2]))
    assert np.isnan(cap) and not censored
    # the largest T at or above threshold counts, even after a dip
    assert capacity_from_curve(T, np.array([1.0, 0.98, 1.0, 0.5]))[0] == pytest.approx(64 + 64 * (0.01 / 0.5))


def test_smoke_sweep_summarizes(smoke_heads):
    ds = smoke_heads
    for var in ("acc", "memorized", "max_memorized", "capacity", "capacity_mean", "capacity_lo", "capacity_hi", "saturated_fraction"):
        assert var in ds, var
    assert ds["capacity"].dims == ("H", "seed")
    assert float(ds["saturated_fraction_init"].max()) < 0.5
    defined = ds["capacity_lo"].notnull()  # NaN where some seed never reaches 99 % even at the smallest T
    assert ((ds["capacity_lo"] <= ds["capacity_mean"]) | ~defined).all() and ((ds["capacity_mean"] <= ds["capacity_hi"]) | ~defined).all()
    assert (ds["max_memorized"] > 0).all()


def test_every_result_variable_has_units_and_long_name_and_the_grid_dim_order(smoke_heads):
    ds = smoke_heads
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and var.attrs.get("units"), name
    grid = tuple(d for d in ds["acc"].dims)  # (H, T, seed): the grid's axes in order
    assert ds["memorized"].dims == grid  # was (T, H, seed)
    for name, var in ds.data_vars.items():  # every variable lists the grid axes it has in the grid's order
        assert [d for d in var.dims if d in grid] == [d for d in grid if d in var.dims], (name, var.dims)


# ---------------------------------------------------------------------------------------------
# Claims: each passes on the right input and fails on a deliberately wrong one
# ---------------------------------------------------------------------------------------------


def _panel(axis, values, per_seed):
    """A Dataset shaped like a summarized panel: max_memorized (axis, seed)."""
    per_seed = np.asarray(per_seed, float)
    return xr.Dataset({"max_memorized": ((axis, "seed"), per_seed), "capacity": ((axis, "seed"), per_seed)}, coords={axis: list(values), "seed": np.arange(per_seed.shape[1])})


def test_heads_claim_passes_on_linear_growth_and_fails_when_reversed():
    H = [1, 2, 3, 4, 6, 8]
    good = _panel("H", H, [[50 + 100 * h + s for s in range(3)] for h in H])
    assert mc.check_heads(good)[1]
    reversed_labels = good.assign_coords(H=H[::-1])
    assert not mc.check_heads(reversed_labels)[1]
    flat_noise = _panel("H", H, [[500, 100, 900]] * len(H))
    assert not mc.check_heads(flat_noise)[1]


def test_context_claim():
    n = [1, 2, 4, 8, 12]
    good = _panel("n", n, [[10 * k + s for s in range(3)] for k in n])
    assert mc.check_context(good)[1]
    assert not mc.check_context(good.assign_coords(n=n[::-1]))[1]


def test_head_dim_plateau_claim():
    dh = [1, 2, 4, 8, 16]
    plateau = _panel("d_h", dh, [[v + s for s in range(3)] for v in (100, 200, 300, 400, 405)])
    assert mc.check_head_dim_plateau(plateau, n=8)[1]
    still_growing = _panel("d_h", dh, [[v + s for s in range(3)] for v in (100, 200, 300, 400, 800)])
    assert not mc.check_head_dim_plateau(still_growing, n=8)[1]
    no_rise = _panel("d_h", dh, [[400 + s for s in range(3)]] * 5)
    assert not mc.check_head_dim_plateau(no_rise, n=8)[1]
    # a rise within the noise: 60 against 2 SE of about 174
    noisy = _panel("d_h", dh, [[100, 110, 120], [300, 310, 320], [330, 340, 350], [200, 500, 410], [200, 500, 410]])
    assert not mc.check_head_dim_plateau(noisy, n=8)[1]
    # one seed stuck low does not decide the test by itself (the min-max spread would: 168 > rise 125)
    outlier = _panel("d_h", dh, [[225, 234, 236, 212], [286, 344, 322, 301], [442, 413, 376, 394], [372, 540, 456, 385], [392, 456, 415, 460]])
    assert mc.check_head_dim_plateau(outlier, n=8)[1]
    assert not mc.check_head_dim_plateau(outlier.where(outlier.seed > 0, np.nan), n=8)[1]  # a NaN seed is a failure


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
    """Smoke scale: the two theory claims only; quick and paper: the plateau at the head_dim panel's n."""
    assert [c.name for c in mc.claims(smoke_scale())] == [c.name for c in mc.theory_claims()]
    for scale in (quick_scale(), paper_scale()):
        n = scale.panels["head_dim"][0].n
        assert scale.cells.plateau_n == n
        assert mc.claims(scale)[-1].name == f"d_h plateau at d_h >= n = {n} (shared context)"


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
