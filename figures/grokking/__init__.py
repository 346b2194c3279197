"""Figures of the `grokking` study (label-corrupted (m + n) mod p; arXiv 2310.13061, arXiv 2301.02679).

``make_all(evidence, out_dir)`` reads a sweep Dataset, or the {panel: Dataset} of a scale with panels
(grid axes alpha, xi, weight_decay, seed, dropout; curves over ``step``; per-neuron ``ipr``,
``bn_gamma`` and pruning curves over ``neuron``; ``phase`` and the dynamics times from the study's
``analysis.summarize``) and writes, by module:
  phases.py     phase_diagrams.png (Fig. 3), regularizer_phase_diagrams.png (Fig. 3's dropout, BatchNorm
                and minibatch panels; App. P), dynamics_summary.png (t_train95 / t_test90 / t_unlearn)
  curves.py     training_curves.png (the Figure 1 cells), two_stage.png (grokking then unlearning, seeds)
  ipr.py        ipr_histograms.png (Fig. 4), dropout_ipr_histograms.png, batchnorm_gamma.png (Fig. 5)
  analytic.py   analytic_accuracy.png (Gromov's periodic solution, Eq. 2, vs width N)
  pruning.py    pruning.png (Figs. 6, 17, with a random-order control), width_pruning.png (App. Q)
  architectures.py  architecture_*.png (transformer, 3-layer MLP, cross-entropy, ReLU; Fig. 7, Apps. M, N)
Figures that need the pruning curves or a panel are skipped without them. The named cells come from
the study's ``Scale.cells`` (helpers.figure_cells).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .._common import scalar_param
from .analytic import analytic_accuracy
from .architectures import architecture_figures
from .curves import training_curves, two_stage
from .helpers import figure_cells, with_grid_axes
from .ipr import batchnorm_gamma, dropout_ipr_histograms, ipr_histograms
from .phases import dynamics_summary, phase_diagrams, regularizer_diagrams
from .pruning import pruning_curves, width_pruning

__all__ = ["make_all"]


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure of the study into ``out_dir``; returns the PNG paths.

    ``evidence``: one sweep Dataset (read as the ``wd`` panel), or {panel: Dataset} of a scale with
    panels (the study's scales.py). Figures of panels that are absent are skipped."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    panels = {"wd": evidence} if isinstance(evidence, xr.Dataset) else dict(evidence)
    ds = with_grid_axes(panels["wd"])
    cells = figure_cells(ds)
    seeds = panels.get("seeds")
    written = [
        phase_diagrams(ds, out_dir / "phase_diagrams.png"),
        training_curves(ds, cells, out_dir / "training_curves.png"),
        ipr_histograms(ds, cells, out_dir / "ipr_histograms.png"),
        analytic_accuracy(scalar_param(ds, "p"), scalar_param(ds, "N"), out_dir / "analytic_accuracy.png"),
        two_stage(ds, cells, seeds, out_dir / "two_stage.png"),
        dynamics_summary(ds, out_dir / "dynamics_summary.png"),
    ]
    if any(d is not None and "prune_low_test_acc" in d and np.isfinite(d["prune_low_test_acc"].values).any() for d in (ds, seeds)):
        written.append(pruning_curves(ds, cells, seeds, out_dir / "pruning.png"))
    order = ("dropout", "batchnorm", "batchnorm_8", "batchnorm_32", "batchnorm_64", "batchnorm_256", "minibatch_8", "minibatch_64", "minibatch_256", "multiplication")
    regularized = [(name, panels[name]) for name in order if name in panels]
    if regularized:
        written.append(regularizer_diagrams(ds, regularized, out_dir / "regularizer_phase_diagrams.png"))
    if "batchnorm" in panels:
        written.append(batchnorm_gamma(panels["batchnorm"], out_dir / "batchnorm_gamma.png"))
    if "dropout" in panels:
        written.append(dropout_ipr_histograms(ds, panels["dropout"], out_dir / "dropout_ipr_histograms.png"))
    if "width" in panels and "n_prunable_low" in panels["width"]:
        written.append(width_pruning(panels["width"], out_dir / "width_pruning.png"))
    return written + architecture_figures(panels, out_dir)  # panels transformer, mlp3, cross_entropy, relu
