"""The t2i-taxonomy study: bad input through the CLI, data; metrics, claims, figures and bit-identity across grids at smoke
scale (marked slow: they share the smoke sweep, whose compile alone exceeds the default suite's budget)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rote.sims import cli, engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.t2i_taxonomy import STUDY
from rote.sims.studies.t2i_taxonomy.data import layout, make_data
from rote.sims.studies.t2i_taxonomy.scales import SCALES, smoke_scale

SMOKE = smoke_scale().base


def quiet(msg):
    del msg


@pytest.mark.parametrize("setting, field", [
    ("q_levels=0.5/1.5", "q must be in [0, 1]"),
    ("q_levels=-0.1/1", "q must be in [0, 1]"),
    ("glyph_levels=0/4", "n_ctx must be"),
    ("glyph_levels=0x16/4", "n_ctx must be"),
    ("tau_glyph=1.0", "tau_glyph"),
    ("tau_stamp=0", "tau_stamp"),
    ("tau_feature=1.2", "tau_feature"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "t2i-taxonomy", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.npz"))


def test_validation_rules_that_span_fields():
    with pytest.raises(ConfigError, match="exceeds scene_images"):
        replace(SMOKE, stamp_levels="1/16")
    with pytest.raises(ConfigError, match="own scene word"):
        replace(SMOKE, stamp_levels="1/2/4")


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"main", "insert", "noise"}, name
        assert (1, scale.cells.dup_d) in scale.base.glyph_conditions and (scale.cells.big_n, 1) in scale.base.glyph_conditions
        assert scale.cells.main_w in scale.base.sweep_guidances


def test_data_match_the_layout():
    p = SMOKE
    lay = layout(p)
    data = jax.jit(make_data, static_argnums=0)(p, jax.random.PRNGKey(3))
    H = p.image
    imgs = np.asarray(data["images"]).reshape(-1, H, H, 3)
    from rote.sims import elements as el
    s = np.asarray(el.ncc_scores(imgs, data["patches"]))
    nominal = np.array([SMOKE.tau_glyph, SMOKE.tau_feature, SMOKE.tau_stamp])[lay.element_family]
    assert np.all(s >= nominal[None] - 1e-6, where=lay.presence)  # every pasted element is found (a stamp may cover a corner of a feature)
    assert np.median(s[lay.presence]) > 0.999
    caps = np.asarray(data["captions"])
    v = lay.vocab
    for g in range(lay.G):
        assert all(v.decode(c).endswith(f"glyph{g}") for c in caps[lay.images_of(1, g)])
    assert caps[:, 10:].max() == 0  # the insertion slots stay free
    assert np.asarray(data["prompts"]).shape[0] == lay.prompt_class.size
    f = np.asarray(el.ncc_scores(np.asarray(data["fresh"]).reshape(-1, H, H, 3), data["patches"]))
    np.testing.assert_allclose(f[np.asarray(data["fresh_presence"])], 1.0, atol=1e-4)


@pytest.mark.slow  # the smoke sweep (its compile dominates); NOTES.md
def test_smoke_metrics(smoke):
    main = smoke["main"]
    assert not bool(main["diverged"].any())
    assert np.all(main["fire"].values <= 0.0101 + 1.0 / 100)
    for name in ("n_me", "n_mi", "n_ma", "n_mu"):
        assert np.all(main[name].values >= 0), name
    assert main.sizes["w"] == 3 and np.all(np.isfinite(main["anchor_mu"].values))


@pytest.mark.slow  # the smoke sweep (its compile dominates); NOTES.md
def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(smoke) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 8 and all(v.measured and not v.missing for v in verdicts), [v.measured for v in verdicts]


@pytest.mark.slow  # the smoke sweep (its compile dominates); NOTES.md
def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"rates.png", "grid_glyph.png", "grid_scene.png", "grid_dup.png", "grid_control.png", "guidance.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)


@pytest.mark.slow  # the smoke sweep (its compile dominates); NOTES.md
def test_config_identical_at_another_position_in_another_grid(smoke):
    """A config's metrics are bit-identical inside another grid at another position: second of the smoke panel's chunk of
    2, first of a chunk (1, 5) (the run must not depend on its neighbours)."""
    alone = engine.sweep(STUDY, SMOKE, {"seed": (1, 5)}, None, progress=False, log=quiet).sel(seed=1)
    other = smoke["main"].sel(seed=1)
    for name in STUDY.metric_dims:
        assert np.array_equal(alone[name].values, other[name].values, equal_nan=True), name
