"""figures/grokking/ draws every figure from panel evidence; the panels are built from the session's
quick-scale cells (tests/grokking/conftest.py) so no extra training is needed: a fake dropout panel (the wd axis
renamed), a fake BatchNorm panel with two seeds and |gamma| = IPR-like values, a seeds panel."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rote.figures import grokking as figs
from rote.figures.grokking import helpers, ipr
from rote.sims.studies.grokking import pruning

NAMES = {
    "phase_diagrams.png",
    "training_curves.png",
    "ipr_histograms.png",
    "analytic_accuracy.png",
    "two_stage.png",
    "dynamics_summary.png",
    "pruning.png",
    "regularizer_phase_diagrams.png",
    "batchnorm_gamma.png",
    "width_pruning.png",
    "dropout_ipr_histograms.png",
}


def fake_panels(cells_ds):
    ds = cells_ds.copy()
    ds.attrs["scale"] = "quick"
    dropout = ds.sel(weight_decay=[0.0, 2.5]).rename(weight_decay="dropout")
    bn_one = ds.sel(weight_decay=0.0, drop=True)
    bn = xr.concat([bn_one, bn_one], dim=xr.DataArray([0, 1], dims="seed", name="seed"))
    bn["bn_gamma"] = 0.05 + 0.1 * bn["ipr"]
    seeds = xr.concat([ds, ds], dim=xr.DataArray([0, 1], dims="seed", name="seed"))
    k = xr.DataArray(np.linspace(1, 0, ds.sizes["neuron"]), dims="neuron")
    for name in pruning.prune_metric_names():  # the quick seeds panel computes pruning curves
        seeds[name] = seeds["ipr"] * 0 + k
    minibatch = ds.sel(weight_decay=0.0, drop=True)
    widths = np.array([96.0, 192.0, 384.0])[:, None]
    width = xr.Dataset(
        {"n_prunable_low": (("N", "seed"), widths * [[0.6, 0.62], [0.75, 0.77], [0.84, 0.85]]), "n_prunable_random": (("N", "seed"), widths * 0.52 + np.zeros((3, 2)))},
        coords={"N": [96, 192, 384], "seed": [0, 1]},
        attrs=ds.attrs,
    )
    return {"wd": ds, "seeds": seeds, "dropout": dropout, "batchnorm": bn, "batchnorm_8": minibatch, "minibatch_8": minibatch, "width": width, "multiplication": ds.sel(weight_decay=[0.0, 5.0])}


def test_make_all_writes_every_figure_from_panels(cells_ds, tmp_path):
    written = figs.make_all(fake_panels(cells_ds), tmp_path)
    assert {p.name for p in written} == NAMES
    assert all(p.stat().st_size > 10_000 for p in written)


@pytest.mark.slow  # the bare-Dataset path is also drawn by tests/test_cli.py (smoke scale)
def test_make_all_on_a_bare_dataset_skips_the_panel_figures(cells_ds, tmp_path):
    written = figs.make_all(cells_ds, tmp_path)
    names = {p.name for p in written}
    assert "two_stage.png" in names and "pruning.png" not in names  # the quick wd cells have no pruning curves
    assert not names & {"regularizer_phase_diagrams.png", "batchnorm_gamma.png"}


def test_majority_phase_over_seeds(cells_ds):
    one = cells_ds.sel(weight_decay=0.0, drop=True)
    other = one.copy(deep=True)
    other["phase"] = other["phase"] * 0 + 4
    three = xr.concat([one, other, one], dim=xr.DataArray([0, 1, 2], dims="seed", name="seed"))
    np.testing.assert_array_equal(helpers.majority_phase(three)["phase"].values, one["phase"].values)


def test_dropout_cells_are_those_both_panels_have(cells_ds):
    ds = cells_ds.copy()
    ds.attrs["scale"] = "quick"
    dropout = ds.sel(weight_decay=[0.0, 2.5]).rename(weight_decay="dropout")
    cells = ipr.dropout_cells(ds, dropout)
    assert cells and all(np.isclose(ds["alpha"].values, a).any() and np.isclose(ds["xi"].values, x).any() for a, x in cells)
    assert ipr.dropout_cells(ds, dropout.sel(alpha=[ds["alpha"].values.min()]).assign_coords(alpha=[0.123])) == []
