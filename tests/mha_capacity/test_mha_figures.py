"""Figures of the mha-capacity study: the theory-only figures need no results, the result figures run on a
tiny in-memory sweep (the smoke scale's heads panel, seconds) and on panels derived from it (no training):
the quick scale's other panels, a config stopped at a search bound, and search = 'fixed' on a T grid."""

import json

import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

from rote.figures import mha_capacity as figs
from rote.figures.mha_capacity import assumptions, capacity, panels, saturation, search
from rote.sims.studies.mha_capacity import analysis
from rote.theory import mha_capacity_assumptions as tha

RAW = ("probe_T", "probe_acc", "probe_loss", "probe_steps", "probe_used", "capacity", "capacity_fail", "search_done", "max_attn",
       "max_attn_init")


def _is_png(path):
    img = imread(path)
    return img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200


@pytest.fixture
def no_theory_figures(monkeypatch):
    """make_all without the construction and assumption figures (tested on empty evidence; 10-30 s each)."""
    monkeypatch.setattr(figs, "construction_figure", lambda path: path)
    monkeypatch.setattr(figs, "assumption_figure", lambda path: path)


def _results(paths):
    return [p for p in paths if p.name not in ("construction.png", "assumptions.png")]


def _heads(smoke_heads):
    """The smoke heads panel without a stray T axis (bisect results do not depend on T)."""
    return smoke_heads.isel(T=0) if "T" in smoke_heads.dims else smoke_heads


def _variant(ds, rename=None, base=None, capacity=None):
    """A summarized panel derived from ``ds``: the H axis renamed, base parameters and capacities replaced."""
    ds = ds[[v for v in RAW if v in ds]].copy(deep=True)
    ds.attrs = dict(ds.attrs)
    cfg = json.loads(ds.attrs["config"])
    cfg["base"].update(base or {})
    ds.attrs["config"] = json.dumps(cfg)
    if capacity is not None:
        ds["capacity"] = xr.DataArray(np.asarray(capacity, dtype=ds["capacity"].dtype), dims=ds["capacity"].dims)
    if rename:
        ds = ds.rename({"H": rename})
    return analysis.summarize(ds)


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


def test_result_figures_on_a_tiny_sweep(smoke_heads, tmp_path, no_theory_figures):
    ds = _heads(smoke_heads)
    assert "capacity_estimate" in ds and set(ds["H"].values) == {1, 2, 4}
    ev = {"heads": panels.prepare(ds)}
    paths = [
        capacity.capacity_figure(ev, tmp_path / "capacity.png"),
        search.search_figure(ev, tmp_path / "search.png"),
        saturation.saturation_figure(ev["heads"], tmp_path / "saturation.png"),
    ]
    assert all(_is_png(p) for p in paths)
    names = sorted(p.name for p in _results(figs.make_all({"heads": ds}, tmp_path / "all")))
    assert names == ["capacity.png", "saturation.png", "search.png"]


def test_unresolved_configs_stay_out_of_means(smoke_heads):
    """A config at a search bound is flagged, drawn apart and never enters the seed mean."""
    ds = _heads(smoke_heads)
    T_max = int(json.loads(ds.attrs["config"])["base"]["T_max"])
    caps = ds["capacity"].transpose("H", "seed").values.copy()
    caps[-1, 0] = T_max  # the largest H, seed 0: the whole T_max memorized
    p = panels.per_seed(panels.prepare(_variant(ds, capacity=caps)), "H")
    assert p["at_bound"][-1, 0] and not p["resolved"][-1, 0] and p["shown"][-1, 0] == T_max
    mean, lo, hi, count = panels.seed_stats(p["estimate"], p["resolved"])
    assert count[-1] == caps.shape[1] - 1 and mean[-1] == np.mean(caps[-1, 1:])
    assert np.all(count[:-1] == caps.shape[1])


def test_capacity_and_search_figures_with_every_quick_panel(smoke_heads, tmp_path, no_theory_figures):
    """The 2 x 2 capacity figure (H, n, d_h at two n, random vs shared) and the budget panel of the search
    figure, on panels derived from the smoke sweep, one config at a search bound."""
    ds = _heads(smoke_heads)
    S = ds.sizes["seed"]
    grow = lambda values: np.asarray([[v + 2 * s for s in range(S)] for v in values])  # noqa: E731
    random_caps = grow([10, 30, 60])
    random_caps[-1, 0] = 128
    ev = {
        "heads": ds,
        "context": _variant(ds.assign_coords(H=[1, 2, 4]), "n", {"H": 4}, grow([3, 9, 20])),
        "head_dim": _variant(ds.assign_coords(H=[1, 2, 8]), "d_h", {"H": 4, "n": 4}, grow([6, 12, 20])),
        "head_dim_n2": _variant(ds.assign_coords(H=[1, 2, 8]), "d_h", {"H": 4, "n": 2}, grow([5, 9, 9])),
        "budget": _variant(ds.sel(H=[2, 4]), None, {"steps": 200}),
        "heads_random": _variant(ds, None, {"context": "random", "T_max": 128}, random_caps),
    }
    paths = _results(figs.make_all(ev, tmp_path))
    assert sorted(p.name for p in paths) == ["capacity.png", "saturation.png", "search.png"]
    assert all(_is_png(p) for p in paths)
    found = panels.head_dim_panels({k: panels.prepare(v) for k, v in ev.items()})
    assert [n for _, _, n in found] == [4, 2]


def test_fixed_search_on_a_T_grid_draws_memorized_vs_T(smoke_heads, tmp_path, no_theory_figures):
    """search = 'fixed' with a T axis: one probe per config; make_all draws memorized_vs_T.png instead of
    search.png and folds the T grid to the largest T memorized for the other figures."""
    ds = _heads(smoke_heads)[list(RAW)].isel(probe=[0])
    grid = (16, 64)
    per_T = []
    for T in grid:
        one = ds.copy(deep=True)
        reached = one["probe_acc"].isel(probe=0) >= 0.99
        one["probe_T"] = xr.full_like(one["probe_T"], T)
        one["capacity"] = xr.where(reached, T, 0).astype(one["capacity"].dtype)
        per_T.append(one)
    fixed = xr.concat(per_T, xr.DataArray(list(grid), dims="T", name="T"))
    fixed.attrs = dict(ds.attrs)
    cfg = json.loads(fixed.attrs["config"])
    cfg["base"].update(search="fixed")
    fixed.attrs["config"] = json.dumps(cfg)
    fixed = analysis.summarize(fixed)
    paths = _results(figs.make_all({"heads": fixed}, tmp_path))
    assert sorted(p.name for p in paths) == ["capacity.png", "memorized_vs_T.png", "saturation.png"]
    assert all(_is_png(p) for p in paths)
    folded = panels.prepare(fixed)
    assert "T" not in folded["capacity"].dims and set(np.unique(folded["shown"])) <= {0, 16, 64}
