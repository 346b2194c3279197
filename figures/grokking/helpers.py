"""Helpers shared by the figures of the `grokking` study: the grid axes, cell selection (the named
cells of the study's scales), the phase colours and diagram panel, bands over seeds."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap

from ...sims.studies.grokking.scales import cells_of
from ...theory import grokking as theory
from .._common import scalar_param

Phase = theory.Phase
AXES = ("alpha", "xi", "weight_decay")

PHASE_COLORS = {
    -1: "#d9d9d9",
    Phase.COEXISTENCE: "#1f77b4",
    Phase.PARTIAL_INVERSION: "#8fd175",
    Phase.FULL_INVERSION: "#2a8c3a",
    Phase.MEMORIZATION: "#d62728",
    Phase.FORGETTING: "#ff9f1c",
    Phase.CONFUSION: "#6b6b6b",
}
DARK_PHASES = {Phase.COEXISTENCE, Phase.FULL_INVERSION, Phase.MEMORIZATION, Phase.CONFUSION}  # white text
TIMES = (("t_train95", "train ≥ 95%", "tab:blue"), ("t_test90", "test ≥ 90%", "tab:orange"), ("t_unlearn", "corrupted < 10% (unlearned)", "tab:red"))


def with_grid_axes(ds: xr.Dataset) -> xr.Dataset:
    """Make alpha, xi, weight_decay dimensions even when a sweep did not vary one of them."""
    for name in AXES:
        if name not in ds.dims:
            ds = ds.expand_dims(name) if name in ds.coords else ds.expand_dims({name: [scalar_param(ds, name)]})
    return ds


def sweep_title(ds: xr.Dataset) -> str:
    """One line naming the sweep's size and scale."""
    p, N, steps = scalar_param(ds, "p"), scalar_param(ds, "N"), scalar_param(ds, "steps")
    scale = ds.attrs.get("scale", "?")
    return f"p {p}, N {N}, {steps} full-batch AdamW steps ({scale} scale, one seed per cell)"


def find_cell(ds: xr.Dataset, alpha, xi, wd) -> xr.Dataset | None:
    """One grid cell, or None if the grid lacks it or the run diverged / has NaN accuracies."""
    try:
        c = ds.sel(alpha=alpha, xi=xi, weight_decay=wd, method="nearest", tolerance=1e-6)
    except KeyError:
        return None
    if ("diverged" in c and bool(c["diverged"])) or not np.isfinite(c["train_acc"].values[-1]):
        return None
    return c


def cell_label(c: xr.Dataset) -> str:
    """alpha, xi and wd of a cell, in the figures' symbols."""
    return f"α {float(c['alpha']):g}, ξ {float(c['xi']):g}, wd {float(c['weight_decay']):g}"


def phase_name(value: int) -> str:
    return "invalid / diverged" if value < 0 else Phase(value).label


def figure_cells(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """The cells of the paper's Figure 1 roles: [(role, cell Dataset)].

    Named cells come from the scale's cells (``Scale.cells`` of the study's scales.py, found by the
    Dataset's ``scale`` attribute; paper: alpha 0.5, xi 0.35, wd 0 / 5 / 15; quick: the coexistence and
    full inversion cells and the first Partial Inversion cell). A role whose
    named cell is missing or diverged, or any role at other scales, takes the cell of that final phase
    with the largest xi (then smallest alpha, wd); a phase absent from the data is skipped.
    """
    roles = [Phase.COEXISTENCE, Phase.PARTIAL_INVERSION, Phase.FULL_INVERSION]
    named = {}
    c = cells_of(ds.attrs.get("scale"))
    if c is not None:
        named[Phase.COEXISTENCE] = c.coexistence
        named[Phase.PARTIAL_INVERSION] = next((cell for cell, _, ph in c.phases if Phase.PARTIAL_INVERSION in ph), None)
        named[Phase.FULL_INVERSION] = c.full_inversion
    flat = ds["phase"].stack(c=AXES)
    order = np.lexsort((flat["weight_decay"].values, flat["alpha"].values, -flat["xi"].values))
    picked = []
    for role in roles:
        c = find_cell(ds, *named[role]) if named.get(role) else None
        if c is None:
            for i in order:
                if int(flat.values[i]) == role:
                    c = find_cell(ds, flat["alpha"].values[i], flat["xi"].values[i], flat["weight_decay"].values[i])
                    if c is not None:
                        break
        if c is not None:
            picked.append((role.label, c))
    return picked


def seed_runs(seeds: xr.Dataset | None, c: xr.Dataset) -> xr.Dataset:
    """The runs of cell ``c`` over seeds: the seeds panel's cell if it has it, else ``c`` alone (with a
    seed dimension of length 1)."""
    if seeds is not None and "seed" in seeds.dims:
        try:
            sel = {k: float(c[k]) for k in AXES if k in seeds.dims}
            return seeds.sel(sel, method="nearest", tolerance=1e-6)
        except KeyError:
            pass
    return c.expand_dims("seed") if "seed" not in c.dims else c


def band(ax, x, runs: xr.DataArray, color, label, scale=100.0):
    """Mean over seeds as a line and mean ± std as a band; NaN-safe."""
    values = scale * np.atleast_2d(runs.transpose("seed", ...).values)
    mean = np.nanmean(values, 0)
    ax.plot(x, mean, color=color, lw=1.4, label=label)
    if values.shape[0] > 1:
        std = np.nanstd(values, 0)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.25, lw=0)


def phase_colormap() -> tuple[ListedColormap, BoundaryNorm]:
    """The categorical colour map of the phases (-1 = invalid included) and its norm, for ``imshow``."""
    values = sorted(PHASE_COLORS)
    cmap = ListedColormap([PHASE_COLORS[v] for v in values])
    return cmap, BoundaryNorm(np.arange(values[0] - 0.5, values[-1] + 1.0), cmap.N)


def phase_panel(ax, phase: np.ndarray, corrupt: np.ndarray, alphas, xis, title: str):
    """One small phase diagram (xi rows, alpha columns) with the final corrupted-subset accuracy as text."""
    cmap, norm = phase_colormap()
    ax.imshow(phase, origin="lower", cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    for i in range(len(xis)):
        for j in range(len(alphas)):
            if np.isfinite(corrupt[i, j]) and phase[i, j] >= 0:
                ax.text(j, i, f"c {100 * corrupt[i, j]:.0f}%", ha="center", va="center", fontsize=7, color="white" if phase[i, j] in DARK_PHASES else "black")
    ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas], fontsize=7)
    ax.set_yticks(range(len(xis)), [f"{x:g}" for x in xis], fontsize=7)
    ax.set_xlabel("α")
    ax.set_ylabel("ξ")
    ax.set_title(title, fontsize=8)


def majority_phase(panel: xr.Dataset) -> xr.Dataset:
    """Over a seed axis: the most frequent phase per cell and the mean final corrupted accuracy."""
    if "seed" not in panel.dims:
        return panel
    phase = panel["phase"].transpose(..., "seed").values.astype(int)
    flat = phase.reshape(-1, phase.shape[-1])
    mode = np.array([np.bincount(row - row.min()).argmax() + row.min() for row in flat]).reshape(phase.shape[:-1])
    out = panel.isel(seed=0).drop_vars("seed")
    out["phase"] = (out["phase"].dims, mode)
    out["final_corrupt_acc"] = panel["final_corrupt_acc"].mean("seed")
    return out
