"""The t2i-duplication study at smoke scale: layout, bad input; metrics, claims, figures and bit-identity across grids
(marked slow: they share the smoke sweep, whose compile alone exceeds the default suite's budget)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rote.sims import cli, engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.t2i_duplication import STUDY
from rote.sims.studies.t2i_duplication.data import KINDS, layout, make_data
from rote.sims.studies.t2i_duplication.scales import SCALES, smoke_scale

SMOKE = smoke_scale().base


def quiet(msg):
    del msg


@pytest.mark.parametrize("setting, field", [
    ("guidance=-1", "guidance"),  # w < 0
    ("guidance_sweep=-1/3", "guidance w must be >= 0"),
    ("levels=0/4", "duplication levels"),  # a duplication level < 1
    ("image=6", "image size 6"),  # an image size the model cannot take
    ("image=10", "image size 10"),
    ("ddim_steps=50", "exceeds the diffusion steps"),  # DDIM steps above the diffusion steps (20 at smoke)
    ("prediction=x0", "prediction"),  # a parametrisation the denoiser does not have
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "t2i-duplication", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.npz"))


def test_validation_rules_that_span_fields():
    with pytest.raises(ConfigError, match="log_every"):
        replace(SMOKE, log_every=7)
    with pytest.raises(ConfigError, match="distinct and ascending"):
        replace(SMOKE, levels="4/1")
    with pytest.raises(ConfigError, match="detect_steps"):
        replace(SMOKE, detect_steps=5)


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"main", "insert", "noise"}, name
        assert scale.cells.high_d in scale.base.dup_levels


def test_training_set_layout():
    p = SMOKE
    lay = layout(p)
    data = jax.jit(make_data, static_argnums=0)(p, jax.random.PRNGKey(3))
    T, N = lay.T, p.generic
    m = np.exp(np.asarray(data["log_m"]))
    np.testing.assert_array_equal(m[N : N + T], lay.target_d)  # E1: one row per target, multiplicity d
    assert m.sum() == N + 4 * lay.target_d.sum() + p.template_copies * lay.group_m.sum()
    # E2, E3, E5: d rows per target, each once; every copy of a target shows the same image
    for e, first in (("E2", N + T), ("E3", N + T + lay.target_d.sum())):
        rows = np.arange(first, first + lay.target_d.sum())
        assert np.all(m[rows] == 1)
        assert len(np.unique(lay.row_image[rows])) == T
    v = lay.vocab
    caps = np.asarray(data["captions"])
    e3 = caps[N + T + lay.target_d.sum() : N + T + 2 * lay.target_d.sum()]
    assert all(v.decode(c).split()[-1].startswith("zk") for c in e3)
    assert all(v.decode(c).startswith("photo of item qa") for c in caps[N : N + T])
    prompts = np.asarray(data["prompts"])
    assert prompts.shape[0] == len(lay.prompt_kind) and set(np.unique(lay.prompt_kind)) == set(range(len(KINDS)))
    untrained = {int(t) for t in prompts[lay.prompts_of("untrained")].ravel() if t}
    assert not untrained & {int(t) for t in caps.ravel()} - set(v.ids(v.words[:27]))  # never-trained ids appear in no caption
    images = np.asarray(data["images"])
    assert images.min() >= -1 and images.max() <= 1 and images.shape == (lay.image_kind.size, 3 * p.image**2)
    assert caps[:, 10:].max() == 0  # the insertion slots stay free


@pytest.mark.slow  # the smoke sweep (its compile dominates) took 230 s at load 15 on 2 cores (NOTES.md)
def test_smoke_metrics(smoke):
    main = smoke["main"]
    assert not bool(main["diverged"].any())
    for name in ("rr", "leak", "nn", "template", "member", "accuracy"):
        v = main[name].values
        assert np.all((v >= 0) & (v <= 1)), name
    assert np.all((main["tau"].values > -1) & (main["tau"].values < 1))
    assert np.all(np.abs(main["fresh_exceed"].values - 0.01) <= 0.011)
    assert np.all(main["blame_rank"].values >= 1) and np.all(main["magnitude"].values >= 0)
    assert main["rr_guidance"].sizes["w"] == 2 and main["rr_steps"].sizes["step"] == 2
    assert "rr_d" in main and "auc" in main


@pytest.mark.slow  # the smoke sweep (its compile dominates) took 230 s at load 15 on 2 cores (NOTES.md)
def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(smoke) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 8 and all(v.measured and not v.missing for v in verdicts), [v.measured for v in verdicts]


@pytest.mark.slow  # the smoke sweep (its compile dominates) took 230 s at load 15 on 2 cores (NOTES.md)
def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"samples.png", "replication.png", "detector.png", "guidance.png", "mitigation.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)


@pytest.mark.slow  # the smoke sweep (its compile dominates) took 230 s at load 15 on 2 cores (NOTES.md)
def test_config_identical_at_another_position_in_another_grid(smoke):
    """A config's metrics are bit-identical inside another grid at another position: second of the smoke panel's
    chunk of 2, first of a chunk (1, 5) (the run must not depend on its neighbours). A chunk of 2, like the
    smoke panels, so no other program is compiled."""
    alone = engine.sweep(STUDY, SMOKE, {"seed": (1, 5)}, None, progress=False, log=quiet).sel(seed=1)
    other = smoke["main"].sel(seed=1)
    for name in STUDY.metric_dims:
        assert np.array_equal(alone[name].values, other[name].values, equal_nan=True), name
