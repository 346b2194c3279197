"""The over-memorization study at smoke scale: data, schedules, metrics, bad input, claims and figures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import cli
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.over_memorization import STUDY
from rote.sims.studies.over_memorization.params import TEST_SIZE, TRAIN_SIZE, OverMemParams
from rote.sims.studies.over_memorization.run import digits_split, lr_multiplier, noisy_labels
from rote.sims.studies.over_memorization.scales import SCALES, smoke_scale


@pytest.mark.parametrize("setting, field", [
    ("epsilon=1.5", "epsilon"),
    ("epsilon=-0.1", "epsilon"),
    ("noise=1.0", "noise"),
    ("noise=-0.2", "noise"),
    ("threshold=-0.1", "threshold"),
    ("schedule=cosine", "schedule"),
    ("variant=7", "variant"),
    ("beta=2", "beta"),
    ("attack=cw", "attack"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "over-memorization", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.npz"))


def test_validation_rules_that_span_fields():
    with pytest.raises(ConfigError, match="removal epoch"):
        OverMemParams(warmup=50, removal=40)
    with pytest.raises(ConfigError, match="needs epsilon"):
        OverMemParams(attack="pgd", epsilon=0.0)
    with pytest.raises(ConfigError, match="robust_eval"):
        OverMemParams(robust_eval=10, epsilon=0.0)


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"noise", "clean", "pgd", "fgsm"}, name
        assert set(scale.cells.pilot_seeds) < set(scale.sweeps()["noise"][1]["seed"]), name


def test_digits_split_is_stratified_and_scaled():
    x_tr, y_tr, x_te, y_te = digits_split()
    assert x_tr.shape == (TRAIN_SIZE, 64) and x_te.shape == (TEST_SIZE, 64)
    assert x_tr.min() == 0 and x_tr.max() == 1 and x_tr.dtype == np.float32
    share_tr, share_te = np.bincount(y_tr) / TRAIN_SIZE, np.bincount(y_te) / TEST_SIZE
    assert np.abs(share_tr - share_te).max() < 0.005


def test_label_noise_is_symmetric_and_never_the_true_class():
    y = jnp.asarray(digits_split()[1])
    labels, flipped = noisy_labels(jax.random.PRNGKey(0), y, 0.3)
    labels, flipped, y = map(np.asarray, (labels, flipped, y))
    assert abs(flipped.mean() - 0.3) < 0.04
    assert np.all(labels[flipped] != y[flipped]) and np.all(labels[~flipped] == y[~flipped])
    assert np.bincount((labels[flipped] - y[flipped]) % 10, minlength=10)[1:].min() > 15  # every other class is drawn
    none = np.asarray(noisy_labels(jax.random.PRNGKey(0), jnp.asarray(y), 0.0)[1])
    assert not none.any()


def test_schedules():
    p = OverMemParams()
    piecewise = lr_multiplier(p, 100)
    assert [float(piecewise(t)) for t in (0, 49, 50, 74, 75, 99)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    cyclic = lr_multiplier(replace(p, schedule="cyclic"), 100)
    assert [float(cyclic(t)) for t in (0, 25, 50, 75, 100)] == pytest.approx([0, 0.5, 1, 0.5, 0])


def test_smoke_metrics(smoke):
    noise = smoke["noise"]
    assert not bool(noise["diverged"].any())
    for name in ("test_acc", "low_loss_share", "noisy_fit", "clean_fit"):
        v = noise[name].values
        assert np.all((v >= 0) & (v <= 1)), name
    assert np.all(noise["test_acc"].isel(epoch=-1) > 0.5)
    assert np.all(np.isnan(noise["robust_acc"].values))  # no robust evaluation in natural training
    share = noise["noisy"].mean("sample").values
    assert np.all(np.abs(share - 0.3) < 0.05)
    assert np.all(np.isnan(smoke["clean"]["noisy_fit"].values))  # no noisy labels to fit
    pgd = smoke["pgd"]
    r = pgd["robust_acc"].values
    assert np.all(np.isfinite(r)) and np.all(r <= pgd["test_acc"].values + 1e-6)
    assert np.all(pgd["adv_loss"].values >= pgd["nat_loss"].values - 1e-4)  # the attack never lowers the loss
    np.testing.assert_allclose(noise["adv_loss"].values, noise["nat_loss"].values, rtol=1e-5, atol=1e-6)  # epsilon 0
    assert float(pgd["epsilon_levels"].values.ravel()[0]) == pytest.approx(1.6)
    assert noise["test_acc"].attrs["units"] == "1" and "long_name" in noise["overlap"].attrs


def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(smoke) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 9 and all(v.measured and not v.not_measured for v in verdicts)


def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"paradigms.png", "dom.png", "persistence.png", "overlap.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert [p.name for p in STUDY.make_figures({"pgd": smoke["pgd"]}, tmp_path / "pgd_only")] == ["paradigms.png", "overlap.png"]
