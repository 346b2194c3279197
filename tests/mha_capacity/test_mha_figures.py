"""Figures of the mha-capacity study: the theory-only figures need no results, the result figures run on a
tiny in-memory sweep (the smoke scale's heads panel, seconds)."""

import numpy as np
from matplotlib.image import imread

from rote.figures import mha_capacity as figs
from rote.figures.mha_capacity import assumptions, capacity, panels, saturation
from rote.theory import mha_capacity_assumptions as tha


def _is_png(path):
    img = imread(path)
    return img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200


def test_make_all_on_empty_evidence_writes_the_theory_figures(tmp_path):
    paths = figs.make_all({}, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["assumptions.png", "construction.png"]
    assert all(_is_png(p) for p in paths)


def test_assumption_data_verdicts():
    """GP fails on the token and digits settings while Assumptions 1-2 hold; each control fails its check."""
    rows, skipped = assumptions.assumption_data(seed=1, samples=300, profile_samples=50)
    rep = {r["name"].split(" (")[0]: r["report"] for r in rows}
    for kind in ("shared", "random", "perm"):
        r = rep[f"synthetic U[0,1], {kind} context" + ("s" if kind != "shared" else "")]
        assert r["assumption1"] and r["assumption2"] and r["general_position"]
    tok = rep["tokens + sinusoidal PE, mixed"]
    assert tok["assumption1"] and tok["assumption2"] and not tok["general_position"]
    assert tok["query_rank"] == assumptions.TOKEN_VOCAB  # the rank derived in assumption_settings
    assert not rep["control: tokens + PE, not mixed"]["assumption1"]
    assert not rep["control: tokens without PE, mixed"]["assumption2"]
    if tha.sklearn_available():
        dig = rep["digits 2x2 patches + PE, one random attention layer"]
        assert dig["assumption1"] and dig["assumption2"] and not dig["general_position"]
        assert not rep["control: digits embeddings, no layer"]["assumption1"]
    else:
        assert len(skipped) == 2
    for r in rows:
        assert r["profile"].shape == r["expected"].shape == r["ks"].shape
        assert np.all((r["profile"] >= 0) & (r["profile"] <= 1))


def test_assumption_figure_without_sklearn(tmp_path, monkeypatch):
    """The digits curves are skipped with a note, not an error, when scikit-learn is missing."""
    monkeypatch.setattr(tha, "sklearn_available", lambda: False)
    data = assumptions.assumption_data(seed=0, samples=100, profile_samples=20)
    rows, skipped = data
    assert not any("digits" in r["name"] for r in rows)
    assert len(skipped) == 2 and all("scikit-learn" in s for s in skipped)
    assert _is_png(assumptions.assumption_figure(tmp_path / "a.png", data=data))


def test_result_figures_on_a_tiny_sweep(smoke_heads, tmp_path):
    ds = smoke_heads
    assert "capacity" in ds and set(ds["H"].values) == {1, 2, 4}
    ev = {"heads": panels.with_seed_stats(ds)}
    paths = [
        capacity.capacity_figure(ev, tmp_path / "capacity.png"),
        capacity.memorized_vs_T(ev["heads"], tmp_path / "memorized_vs_T.png"),
        saturation.saturation_figure(ev["heads"], tmp_path / "saturation.png"),
    ]
    assert all(_is_png(p) for p in paths)
