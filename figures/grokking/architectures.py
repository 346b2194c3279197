"""Figures of the `grokking` study's other architectures and losses (arXiv 2310.13061, Fig. 7, Apps.
M and N): for each of the panels ``transformer``, ``mlp3``, ``cross_entropy`` and ``relu`` present,
architecture_PANEL.png: top, the phase per (alpha, xi) cell, one diagram per weight decay (majority over
seeds; cell text = final corrupted-subset accuracy); bottom, input-layer IPR histograms per weight decay
in one cell (all seeds pooled), coloured by its phase, beside the IPR of a Gaussian row and of a pure
cosine (Figs. 4, 7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ...theory import grokking as theory
from .._common import save, scalar_param
from .helpers import PHASE_COLORS, majority_phase, phase_name, phase_panel, with_grid_axes

PANELS = ("transformer", "mlp3", "cross_entropy", "relu")

MODEL_TEXT = {
    "mlp2": "2-layer MLP",
    "mlp3": "3-layer ReLU MLP (Fig. 7b)",
    "transformer": "1-layer transformer, 4 heads (Fig. 7a)",
}
IPR_TEXT = {
    "mlp2": "per-neuron IPR (Eq. 4: mean of U, V, W rows)",
    "mlp3": "per-neuron IPR of the first layer (mean of U, V rows)",
    "transformer": "IPR of each token-embedding dimension (column over the p tokens)",
}


def architecture_figures(panels, out_dir: Path) -> list[Path]:
    """One figure per architecture panel present in ``panels`` ({name: Dataset}); [] if none is."""
    out_dir = Path(out_dir)
    return [architecture_figure(panels[name], out_dir / f"architecture_{name}.png") for name in PANELS if name in panels]


def _setting(ds: xr.Dataset) -> str:
    """One line naming the model, activation, loss and training settings of a panel."""
    s = scalar_param
    model = s(ds, "model")
    width = f"d {s(ds, 'N')}" if model == "transformer" else f"width {s(ds, 'N')}"
    act = f", {s(ds, 'activation')} activation" if model == "mlp2" else ""
    loss = "cross-entropy" if s(ds, "loss") == "ce" else "MSE"
    return f"{MODEL_TEXT[model]}{act}, {width}, {loss}; p {s(ds, 'p')}, {s(ds, 'steps')} full-batch AdamW steps, lr {s(ds, 'lr'):g}"


def histogram_cell(ds: xr.Dataset) -> tuple[float, float]:
    """The (alpha, xi) cell whose phases differ most across weight decay (``ds`` with majority phases,
    dims alpha, xi, weight_decay): most distinct phases, then one that generalizes (test >= 90 %) at some
    wd, then the largest alpha, then the smallest xi."""
    best, key = None, None
    for a in ds["alpha"].values:
        for x in ds["xi"].values:
            phases = set(int(v) for v in np.atleast_1d(ds["phase"].sel(alpha=a, xi=x).values))
            generalizes = bool(phases & {theory.Phase.COEXISTENCE, theory.Phase.PARTIAL_INVERSION, theory.Phase.FULL_INVERSION})
            k = (len(phases), generalizes, a, -x)
            if key is None or k > key:
                best, key = (float(a), float(x)), k
    return best


def architecture_figure(ds: xr.Dataset, path: Path) -> Path:
    """Phase diagrams per weight decay (top) and IPR histograms per weight decay in the histogram_cell
    (bottom) of one architecture panel. Reads phase, final_corrupt_acc, ipr."""
    ds = with_grid_axes(ds)
    majority = majority_phase(ds)
    p, model = scalar_param(ds, "p"), scalar_param(ds, "model")
    wds = ds["weight_decay"].values
    alphas, xis = ds["alpha"].values, ds["xi"].values
    a, x = histogram_cell(majority)
    n = len(wds)
    fig = Figure(figsize=(max(3.4 * n, 9), 7.2), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    bins = np.linspace(0, 1, 21)
    gaussian = theory.reference_ipr(p, "gaussian", rows=2000)
    for j, wd in enumerate(wds):
        panel = majority.sel(weight_decay=wd)
        phase = np.atleast_2d(panel["phase"].transpose("xi", "alpha").values.astype(int))
        corrupt = np.atleast_2d(panel["final_corrupt_acc"].transpose("xi", "alpha").values)
        phase_panel(axes[0, j], phase, corrupt, alphas, xis, f"weight decay {wd:g}")
        axes[0, j].plot(list(alphas).index(a), list(xis).index(x), marker="s", ms=22, mfc="none", mec="black", mew=1.5)

        ax = axes[1, j]
        cell = ds.sel(alpha=a, xi=x, weight_decay=wd)
        ipr = cell["ipr"].values.ravel()
        finite = ipr[np.isfinite(ipr)]
        ph = int(panel["phase"].sel(alpha=a, xi=x))
        ax.hist(finite, bins=bins, color=PHASE_COLORS[ph], edgecolor="black", lw=0.5)
        ax.axvline(gaussian, color="tab:gray", ls="--", lw=1.2, label=f"Gaussian row: {gaussian:.3f}")
        ax.axvline(1.0, color="black", ls="-.", lw=1.2, label="pure cosine (one Fourier mode): 1")
        seeds = cell.sizes.get("seed", 1)
        dropped = f", {len(ipr) - len(finite)} all-zero left out" if len(finite) < len(ipr) else ""
        ax.set_title(f"α {a:g}, ξ {x:g}, wd {wd:g}: {phase_name(ph)}\nmean IPR {np.mean(finite) if len(finite) else np.nan:.2f}{dropped}", fontsize=8)
        ax.set_xlim(0, 1.02)
        ax.set_xlabel(IPR_TEXT[model], fontsize=7)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.set_ylabel(f"count ({seeds} seed{'s' if seeds > 1 else ''} pooled)")
    present = set(np.unique(majority["phase"].values).astype(int).tolist())
    handles = [Patch(color=PHASE_COLORS[v], label=phase_name(v)) for v in sorted(PHASE_COLORS) if v in present]
    handles += axes[1, 0].get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), fontsize=8)
    fig.suptitle(
        f"{_setting(ds)}\ntop: phases (paper App. C thresholds; c = final corrupted-subset accuracy; square = the histogram cell)\n"
        f"bottom: input-layer IPR (rfft) at the end of training in that cell",
        fontsize=9,
    )
    return save(fig, path)
