"""The lm-membership study at smoke scale: pool layout, the score matrix, bad input (one line, exit 2),
claims and figures running on real smoke results."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import xarray as xr

from rote.sims import cli, engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.lm_membership import STUDY, analysis
from rote.sims.studies.lm_membership.params import layout
from rote.sims.studies.lm_membership.run import METRIC_DIMS, make_pool, training_counts
from rote.sims.studies.lm_membership.scales import SCALES, smoke_scale
from rote.sims.study import Evidence

SMOKE = smoke_scale().base


@pytest.mark.parametrize("setting, field", [
    ("keep=1.0", "keep"),
    ("keep=0", "keep"),
    ("fprs=0.01/1.5", "(0, 1)"),
    ("fprs=0", "(0, 1)"),
    ("min_k=0", "min_k"),
    ("body=8", "body"),  # no room for the head in a context of 8
    ("duplicated=99", "duplicated"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "lm-membership", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"shadow", "corpus", "negative"}, name
        neg = scale.sweeps()["negative"][0]
        assert neg.rare == 0 and neg.families == 0 and neg.dedup and neg.steps * neg.batch_size >= neg.markov * neg.keep
    assert SCALES["paper"]().base.pool == 512 and len(SCALES["paper"]().sweeps()["shadow"][1]["seed"]) == 32


def test_pool_layout_and_keep_mask():
    p = SMOKE
    tokens, _ = make_pool(p, jax.random.PRNGKey(0))
    tokens = np.asarray(tokens)
    lay = layout(p)
    assert tokens.shape == (p.pool, p.context)
    common = tokens[lay["kind"] == 1]
    fam = lay["family"][lay["kind"] == 1]
    for f in range(p.families):  # one shared body per family, different heads
        assert np.all(common[fam == f, -p.body :] == common[fam == f][0, -p.body :])
    keep = np.ones(p.pool, bool)
    counts = np.asarray(training_counts(p, tokens, keep))
    assert np.array_equal(counts, lay["copies"])
    assert np.asarray(training_counts(replace(p, dedup=True), tokens, keep)).max() == 1


def test_smoke_score_matrix(smoke):
    ds = smoke["shadow"]
    M = ds.sizes["seed"]
    for var in METRIC_DIMS:
        assert var in ds and "units" in ds[var].attrs and "long_name" in ds[var].attrs, var
    assert ds["token_logprob"].dims == ("seed", "sequence", "position")
    assert np.all(ds["token_logprob"].isel(position=0) == 0) and np.all(ds["token_logprob"] <= 0)
    p = np.exp(ds["token_logprob"].isel(position=slice(1, None)))
    rest = np.exp(ds["token_log_rest"].isel(position=slice(1, None)))
    np.testing.assert_allclose(p + rest, 1.0, atol=1e-4)  # log(1 - p) is the rest of the distribution
    keep = ds["keep"].values
    assert 0.2 < keep.mean() < 0.8 and not np.all(keep == keep[0])  # each model its own half
    assert np.all(ds["tokens"].values == ds["tokens"].values[0])  # one pool for every model
    sm = analysis.score_matrix(ds)
    assert sm.logprob.shape == (M, ds.sizes["sequence"], ds.sizes["position"])


def test_results_without_score_matrix_or_with_one_model_are_config_errors(smoke):
    ds = smoke["shadow"]
    with pytest.raises(ConfigError, match="no score matrix"):
        analysis.score_matrix(ds.drop_vars(["token_logprob"]))
    with pytest.raises(ConfigError, match="at least 2"):
        analysis.score_matrix(ds.isel(seed=slice(0, 1)))
    with pytest.raises(ConfigError, match="at least 2"):
        analysis.memorization(ds.isel(seed=slice(0, 1)))


def errors(capsys) -> list[str]:
    """The error lines on stderr (a custom sweep's results also bring a stale-configuration warning per panel)."""
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("rote: error")]


def test_cli_figures_on_one_model_or_no_score_matrix_is_exit_2(smoke, capsys, tmp_path):
    out = tmp_path / "r"
    assert cli.main(["sweep", "lm-membership", "--scale", "smoke", "--out", str(out), "--no-progress", "--set", "seed=0"]) == 0
    capsys.readouterr()
    assert cli.main(["figures", "lm-membership", "--scale", "smoke", "--results", str(out)]) == cli.EXIT_BAD_INPUT
    err = errors(capsys)
    assert len(err) == 1 and "at least 2" in err[0], err
    path = out / "shadow" / "results.nc"
    ds = xr.load_dataset(path)
    ds = xr.concat([ds, ds.assign_coords(seed=[1])], "seed").drop_vars([v for v in analysis.SCORE_VARIABLES if v != "keep"])
    ds.to_netcdf(path)
    assert cli.main(["figures", "lm-membership", "--scale", "smoke", "--results", str(out)]) == cli.EXIT_BAD_INPUT
    err = errors(capsys)
    assert len(err) == 1 and "no score matrix" in err[0], err


def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(Evidence(smoke)) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 6 and not any(v.not_measured for v in verdicts)
    assert all("not measurable" not in v.measured for v in verdicts), [v.measured for v in verdicts]
    missing = [c(Evidence({}, ("shadow", "corpus", "negative"))) for c in STUDY.claims(smoke_scale())]
    assert all(v.not_measured for v in missing)


def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"memorization.png", "roc.png", "shadow_models.png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_config_alone_equals_config_in_a_grid(smoke):
    base, _ = smoke_scale().sweeps()["shadow"]
    alone = engine.sweep(STUDY, base, {"seed": (2,)}, None, progress=False, log=lambda m: None)
    for var in METRIC_DIMS:
        assert np.array_equal(alone[var].sel(seed=2).values, smoke["shadow"][var].sel(seed=2).values, equal_nan=True), var
