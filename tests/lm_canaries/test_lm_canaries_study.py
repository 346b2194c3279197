"""The lm-canaries study at smoke scale: data, metrics, bit-identity across grids, bad input, figures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import cli, engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.lm_canaries import STUDY
from rote.sims.studies.lm_canaries.params import DIGITS, CanaryParams, canary_levels
from rote.sims.studies.lm_canaries.run import make_data, sizes
from rote.sims.studies.lm_canaries.scales import SCALES, smoke_scale

SMOKE = smoke_scale().base


def quiet(msg):
    del msg


@pytest.mark.parametrize("setting, field", [
    ("vocab=8", "vocabulary"),  # the 10 digit tokens do not fit
    ("repetitions=0/-1/4", "repetitions"),  # r < 0
    ("sigma=-0.5", "sigma"),
    ("delta=1.5", "delta"),
    ("delta=0", "delta"),
    ("context=8", "context"),  # shorter than the 6-token prefix + 4 digits
    ("vocab=12", "word tokens"),  # digits fit, but too few chain states for 4 successors
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "lm-canaries", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.npz"))


def test_validation_rules_that_span_fields():
    with pytest.raises(ConfigError, match="acts only with dp"):
        replace(SMOKE, sigma=1.0)
    with pytest.raises(ConfigError, match="log_every"):
        replace(SMOKE, log_every=7)
    with pytest.raises(ConfigError, match="prompt length"):
        replace(SMOKE, prompt_lengths="2/12")
    with pytest.raises(ConfigError, match="distinct and ascending"):
        replace(SMOKE, repetitions="4/1")
    with pytest.raises(ConfigError, match="must exceed"):
        replace(SMOKE, train_sequences=6)


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"repetition", "dedup", "dp"}, name
        assert scale.cells.width_level in scale.base.levels


def test_training_set_layout_and_dedup():
    p = replace(SMOKE, dedup=False)
    data = make_data(p, jax.random.PRNGKey(3))
    s, levels = sizes(p), canary_levels(p)
    N, C = p.train_sequences, s["C"]
    counts = np.asarray(data["counts"])
    np.testing.assert_array_equal(counts[:C], levels)  # tracked rows
    np.testing.assert_array_equal(counts[N : N + C], levels)  # canaries
    assert set(np.unique(counts[N + C :])) <= {0, 1} and counts[N + C :].sum() == int(np.asarray(data["audit_in"]).sum())
    assert counts.sum() <= s["M_max"]
    tokens = np.asarray(data["tokens"])
    canary = tokens[N : N + C, : s["canary"]]
    assert np.all(canary[:, : p.template_length] == np.asarray(data["template"])) and np.all(canary[:, p.template_length :] < DIGITS)
    assert np.all(tokens[:N] >= DIGITS)  # digits only in canaries
    dd = np.asarray(make_data(replace(p, dedup=True), jax.random.PRNGKey(3))["counts"])
    assert dd.max() == 1 and np.array_equal(dd > 0, counts > 0)
    again = make_data(replace(p, width=32, dp=True, sigma=1.0), jax.random.PRNGKey(3))  # data depend on the seed alone
    np.testing.assert_array_equal(np.asarray(again["tokens"]), tokens)


def test_smoke_metrics(smoke):
    rep = smoke["repetition"]
    assert not bool(rep["diverged"].any())
    e = rep["exposure"].values
    assert np.all((e >= 0) & (e <= SMOKE.secret_digits * np.log2(10) + 1e-5))
    space, C = 10**SMOKE.secret_digits, rep.sizes["canary"]
    shrink = np.log2(space / (space - C))  # R loses at most the other canaries
    assert np.all(rep["exposure_isolated"].values >= rep["exposure_final"].values - shrink - 1e-5)  # never a worse rank
    assert set(np.unique(rep["audit_in"].values)) <= {0.0, 1.0}
    assert np.all(np.isfinite(rep["exposure_extrapolated"].values))
    assert np.all(rep["val_loss"].isel(step=-1) < rep["val_loss"].isel(step=0))
    assert np.all(np.isnan(rep["dp_grad_gap"].values)) and np.all(np.isinf(rep["epsilon"].values))
    for kind in ("canary", "sequence"):
        assert np.all((rep[f"{kind}_match"] >= rep[f"{kind}_extracted"]).values)
    dp = smoke["dp"]
    assert float(dp["dp_grad_gap"].max()) < 1e-5
    eps = dp["epsilon"].sel(sigma=1.0).values
    assert np.all(np.isfinite(eps)) and np.all(dp["epsilon_audit"].values >= 0)
    q = float(dp["sampling_rate"].values.ravel()[0])
    assert abs(float(dp["batch_mean"].values.ravel()[0]) / SMOKE.batch_size - 1) < 0.25 and 0 < q < 1
    dedup = smoke["dedup"]
    assert float(dedup["sampling_rate"].values.ravel()[0]) > float(rep["sampling_rate"].values.ravel()[0])  # smaller multiset


def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(smoke) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 15 and all(v.measured for v in verdicts)


def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    names = {p.name for p in paths}
    assert names == {"exposure_vs_r.png", "exposure_training.png", "exposure_agreement.png", "extraction.png", "dp.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert STUDY.make_figures({"dp": smoke["dp"]}, tmp_path / "dp_only")[0].name == "dp.png"


def test_config_alone_equals_config_in_a_grid(smoke):
    """A config's metrics are bit-identical alone and inside larger grids at other positions: second of a
    chunk of 2 (the smoke panel), first of a chunk of 3 (the run must not depend on its neighbours)."""
    alone = engine.sweep(STUDY, SMOKE, {"seed": (1,)}, None, progress=False, log=quiet).sel(seed=1)
    first = engine.sweep(STUDY, SMOKE, {"seed": (1, 3, 4)}, None, progress=False, log=quiet).sel(seed=1)
    second = smoke["repetition"].sel(seed=1).squeeze("width", drop=True)
    for other in (second, first):
        for name in STUDY.metric_dims:
            assert np.array_equal(alone[name].values, other[name].values, equal_nan=True), name


def test_secret_enumeration_matches_brute_force():
    """One forward over 10^(n-1) rows gives every candidate's log-perplexity as scoring each alone."""
    from rote.sims import lm, text

    model = lm.TinyLM(vocab=16, context=8, width=16, layers=1, heads=2)
    params = lm.init_params(model, jax.random.PRNGKey(0))
    template = jnp.array([12, 13, 14])
    fast = np.asarray(lm.secret_log_perplexities(model, params, template, 3))
    rows = text.canaries(template, jnp.arange(1000), 3)
    slow = -np.asarray(lm.token_log_probs(model, params, rows))[:, 3:].sum(-1) / np.log(2.0)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)


def test_greedy_forced_equals_greedy_for_one_prompt_length():
    from rote.sims import decoding, lm

    model = lm.TinyLM(vocab=16, context=10, width=16, layers=1, heads=2)
    params = lm.init_params(model, jax.random.PRNGKey(1))
    targets = jax.random.randint(jax.random.PRNGKey(2), (6, 10), 0, 16)
    for k in (1, 3):
        forced = decoding.greedy_forced(model, params, targets, jnp.full(6, k))
        np.testing.assert_array_equal(np.asarray(forced), np.asarray(decoding.greedy(model, params, targets[:, :k], 10 - k)))
    mixed = np.asarray(decoding.greedy_forced(model, params, targets, jnp.array([1, 3, 1, 3, 1, 3])))
    np.testing.assert_array_equal(mixed[1::2, :3], np.asarray(targets)[1::2, :3])


def test_poisson_sample_is_the_bernoulli_sample():
    from rote.sims import privacy

    valid = jnp.arange(500) < 400
    idx, mask, over = privacy.poisson_sample(jax.random.PRNGKey(0), valid, 0.05, 60)
    u = np.asarray(jax.random.uniform(jax.random.PRNGKey(0), (500,)))
    chosen = np.flatnonzero((u < 0.05) & np.asarray(valid))
    assert not bool(over) and set(np.asarray(idx)[np.asarray(mask)]) == set(chosen)
    counts = [int(privacy.poisson_sample(jax.random.PRNGKey(i), valid, 0.05, 60)[1].sum()) for i in range(200)]
    assert abs(np.mean(counts) - 20) < 1.5 and abs(np.var(counts) - 19) < 8  # Binomial(400, 0.05): mean 20, var 19
    _, mask, over = privacy.poisson_sample(jax.random.PRNGKey(0), valid, 0.9, 60)
    assert bool(over) and int(mask.sum()) == 60
    assert privacy.poisson_capacity(32) == 58


def test_accountant_imports_without_jax():
    import subprocess
    import sys

    code = "import sys; import rote.sims.accounting as a; print(a.epsilon(1.0, 0.01, 100, 1e-5, 'rdp') > 0, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_params_defaults_are_the_toy_design():
    p = CanaryParams()
    assert (p.vocab, p.context, p.width, p.layers, p.heads, p.template_length, p.secret_digits) == (48, 24, 64, 2, 4, 6, 4)
    assert p.levels == (0, 1, 2, 4, 8, 16) and p.prompts == (2, 4, 6, 8)
