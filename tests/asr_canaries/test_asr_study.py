"""The asr-canaries study at smoke scale: data layout, metrics, bit-identity across grids, bad input
through the CLI, figures and claims on real (smoke) results."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rote.sims import cli, engine, results
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.asr_canaries import STUDY
from rote.sims.studies.asr_canaries.params import canary_levels
from rote.sims.studies.asr_canaries.run import make_data
from rote.sims.studies.asr_canaries.scales import SCALES, smoke_scale

SMOKE = smoke_scale().base


def quiet(msg):
    del msg


@pytest.fixture(scope="module")
def baseline():
    """The smoke 'baseline' panel (with and without canaries, 2 seeds): one compile."""
    base, grid = smoke_scale().sweeps()["baseline"]
    return engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)


@pytest.mark.parametrize("setting, field", [
    ("speedup=12", "no CTC alignment"),  # an 8-token canary sped up 12x leaves 6 output frames
    ("clip=0", "clip"),
    ("clip=-0.5", "clip"),
    ("cores=5", "cores 5 must divide batch_size"),
    ("repetitions=1/2/4", "held-out level 0"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "asr-canaries", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.npz"))


def test_every_scale_builds_and_validates():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"baseline", "budget", "pec", "pcc"}, name
        for base, grid in scale.sweeps().values():
            for axis, values in grid.items():
                for v in values:
                    replace(base, **{axis: v})
    with pytest.raises(ConfigError, match="min_len"):
        replace(SMOKE, min_len=9)


@pytest.mark.slow
def test_training_set_layout():
    data = make_data(SMOKE, jax.random.PRNGKey(3))
    levels = canary_levels(SMOKE)
    N = SMOKE.train_utterances + SMOKE.copies
    ms = np.asarray(data["multiset"])
    assert ms.size == SMOKE.training_size
    counts = np.bincount(ms, minlength=N + levels.size)
    np.testing.assert_array_equal(counts[N:], levels)  # level-r canaries r times, K_0 never
    assert np.all(counts[: SMOKE.train_utterances] == 1) and np.all(counts[SMOKE.train_utterances : N] == 0)
    ctrl = np.asarray(make_data(replace(SMOKE, insert_canaries=False), jax.random.PRNGKey(3))["multiset"])
    np.testing.assert_array_equal(np.sort(ctrl), np.arange(N))  # the control: as many clean utterances, no canary
    x, n = np.asarray(data["x"]), np.asarray(data["n"])
    fast = n[N:]
    assert np.all(fast <= -(-SMOKE.canary_length * SMOKE.d_max // SMOKE.speedup)) and np.all(x[N:, fast.max():] == 0)
    again = make_data(replace(SMOKE, method="pec", clip=0.3, epochs=2), jax.random.PRNGKey(3))  # data depend on the seed alone
    np.testing.assert_array_equal(np.asarray(again["x"]), x)


@pytest.mark.slow
def test_smoke_metrics(baseline):
    ds = baseline
    assert not bool(ds["diverged"].any())
    assert np.all(ds["canary_feasible"].values == 1)
    for v in ("clean_ter", "canary_ter"):
        assert np.all(ds[v].values >= 0)
    assert np.all(ds["clean_exact"].values <= 1) and np.all(np.isnan(ds["inf_gap"].values))
    assert np.all(np.isfinite(ds["train_loss"].values)) and np.all(ds["train_loss"].values >= 0)  # CTC clamped at 0
    assert set(ds["ter_r"]["r"].values.tolist()) == set(SMOKE.levels)
    assert np.all(np.diff(ds["clean_norm_q"].values, axis=-1) >= 0)


@pytest.mark.slow
def test_config_alone_equals_config_in_a_grid(baseline):
    alone = engine.sweep(STUDY, replace(SMOKE, epochs=smoke_scale().cells.short), {"seed": (1,)}, None, progress=False, log=quiet).sel(seed=1)
    other = baseline.sel(seed=1, insert_canaries=True)
    for name in STUDY.metric_dims:
        assert np.array_equal(alone[name].values, other[name].values, equal_nan=True), name


@pytest.mark.slow
def test_figures_from_the_baseline_panel(baseline, tmp_path):
    paths = STUDY.make_figures({"baseline": baseline}, tmp_path)
    assert {p.name for p in paths} == {"ter_by_r.png", "tradeoff.png", "grad_norms.png", "cost.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)


@pytest.mark.slow
def test_full_smoke_scale_claims_and_figures(tmp_path):
    scale = smoke_scale()
    ev = results.sweep_in_memory(STUDY, "smoke")
    verdicts = [c(ev) for c in STUDY.claims(scale)]
    assert len(verdicts) == 8 and all(v.measured and not v.missing for v in verdicts)
    assert float(np.nanmax(np.concatenate([ev["pec"]["inf_gap"].values.ravel(), ev["pcc"]["inf_gap"].values.ravel()]))) < 1e-5
    assert len(STUDY.make_figures(ev, tmp_path)) == 4
