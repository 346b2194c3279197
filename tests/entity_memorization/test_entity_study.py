"""The entity-memorization study at smoke scale: metrics, bit-identity across grids, bad input, figures."""

from __future__ import annotations

import numpy as np
import pytest
from engine.support import quiet
from entity_fakes import FAST_PANELS, sweep_smoke

from rote.sims import cli, engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.entity_memorization import STUDY
from rote.sims.studies.entity_memorization.params import EntityParams, exposure_persons, person_levels
from rote.sims.studies.entity_memorization.scales import SCALES, smoke_scale
from rote.sims.study import Evidence

SMOKE = smoke_scale().base


@pytest.mark.parametrize("setting, field", [
    ("leak_levels=1/2/4", "leakage level 4"),  # above the record's 3 leakable entities
    ("repetitions=0/-1/4", "repetitions"),  # r < 0
    ("decoys=0", "decoys"),  # K < 1
    ("sigma=-0.5", "sigma"),
    ("share=7", "share"),  # ambiguous persons do not split into groups of 7
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "entity-memorization", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err


def test_validation_rules_that_span_fields():
    with pytest.raises(ConfigError, match="acts only with dp"):
        replace(SMOKE, sigma=1.0)
    with pytest.raises(ConfigError, match="never trained"):
        replace(SMOKE, repetitions="1/2")
    with pytest.raises(ConfigError, match="exposure_per_level"):
        replace(SMOKE, exposure_per_level=9)


def test_params_defaults_are_the_toy_design():
    p = EntityParams()
    assert p.persons == 400 and p.levels == (0, 1, 2, 4, 8) and (p.width, p.layers, p.heads) == (64, 2, 4)
    assert p.decoys == 999 and p.soft_tokens == 8 and p.soft_fraction == 0.2 and p.leaks == (1, 2, 3)
    assert person_levels(p).sum() == 80 * 15 and exposure_persons(p).size == 80


def test_every_scale_builds():
    for build in SCALES.values():
        assert set(build().sweeps()) == {"main", "dedup", "dp", "scale"}


def test_smoke_metrics(smoke):
    ds = smoke["main"]
    for v in ("phone_em", "soft_em", "email_em", "verbatim_em", "candidate_hit"):
        assert set(np.unique(ds[v].values)) <= {0.0, 1.0}, v
    assert np.all(np.isfinite(ds["train_loss"].values))
    K = SMOKE.decoys
    assert np.all((ds["exposure"].values >= 0) & (ds["exposure"].values <= np.log2(K + 1) + 1e-6))
    m = ds["matches"].isel(seed=0).values
    assert np.all(np.diff(m, axis=0) <= 0) and m.min() >= 1
    amb = ds["person_key"].values == "ambiguous"
    assert np.all(m[0, amb & (ds["person_r"].values > 0)] >= 2) and np.all(m[0, ~amb] == 1)
    assert abs(ds["known"].isel(seed=0).values.mean() - SMOKE.soft_fraction) < 0.05
    tok = ds["prompt_tokens"].isel(seed=0)
    assert np.all(tok.sel(leak=3).values > tok.sel(leak=1).values)
    assert float(smoke["dedup"]["train_loss"].mean()) > 0


def test_claims_run_on_smoke_evidence(smoke):
    """With the DP-SGD and scale panels missing, exactly the claims that read them are not measured."""
    missing = tuple(panel for panel in smoke_scale().sweeps() if panel not in FAST_PANELS)
    verdicts = [c(Evidence(smoke, missing)) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 12 and not any(v.failed for v in verdicts)
    assert {v.claim for v in verdicts if v.not_measured} == {"EN6 association grows with width", "EN8 DP-SGD cuts EM at r_max"}


def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"leakage.png", "inference.png", "extraction.png", "mitigation.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)


@pytest.mark.slow
def test_every_panel_at_smoke_scale(tmp_path):
    """The DP-SGD and narrow-model programs (two more compiles): every claim measured, every figure drawn."""
    every = sweep_smoke()
    verdicts = [c(every) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 12 and all(v.measured and not v.not_measured for v in verdicts) and not any(v.failed for v in verdicts)
    assert float(every["dp"]["train_loss"].min()) > 0 and every["dp"].sizes["sigma"] == 1
    assert len(STUDY.make_figures(every, tmp_path)) == 4


def test_config_alone_equals_config_in_a_grid(smoke):
    alone = engine.sweep(STUDY, SMOKE, {"seed": (1,)}, None, progress=False, log=quiet).sel(seed=1)
    second = smoke["main"].sel(seed=1)
    for name in STUDY.metric_dims:
        assert np.array_equal(alone[name].values, second[name].values, equal_nan=True), name


def test_greedy_answer_is_greedy_forced():
    """The n-pass answer decoding reads the same tokens as the shared L-pass greedy decoder."""
    import jax

    from rote.sims import decoding, lm
    from rote.sims.studies.entity_memorization.run import answer_slice, greedy_answer

    model = lm.TinyLM(vocab=13, context=12, width=8, layers=1, heads=2)
    w = lm.init_params(model, jax.random.key(0))
    rows = jax.random.randint(jax.random.key(1), (16, 12), 0, 13)
    ks = jax.random.randint(jax.random.key(2), (16,), 1, 8)
    prefix = lm.init_prefix(jax.random.key(3), 3, 8, scale=1.0)  # the study always decodes after a prefix
    got = greedy_answer(model, w, rows, ks, 4, prefix)
    ref = answer_slice(decoding.greedy_forced(model, w, rows, ks, prefix), ks, 4)
    assert np.array_equal(np.asarray(got), np.asarray(ref))
