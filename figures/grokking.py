"""Figures of the `grokking` study (label-corrupted (m + n) mod p, quadratic two-layer MLP).

Doshi, Das, He, Gromov, "To grok or not to grok" (arXiv 2310.13061); fact sheet
shared/papers/grokking_corruption.md, sections 1.4, 2, 3 and 5.1.

``make_all(evidence, out_dir)`` reads a sweep Dataset, or the {panel: Dataset} of a scale with panels
(sims/studies/grokking.py: grid axes alpha, xi, weight_decay, seed, dropout; curves over ``step``;
per-neuron ``ipr``, ``bn_gamma`` and pruning curves over ``neuron``; ``phase`` and the dynamics times
from ``summarize``) and writes:
  phase_diagrams.png    phase per (alpha, xi) cell, one panel per weight decay (paper Fig. 3)
  training_curves.png   accuracies over steps for the coexistence / partial / full inversion cells (Fig. 1)
  ipr_histograms.png    per-neuron IPR histograms of the same cells, and mean IPR over steps (Fig. 4)
  analytic_accuracy.png Gromov's periodic solution (Eq. 2) vs width N: accuracy and logit statistics
  two_stage.png         grokking then unlearning, with mean IPR and the dynamics times, mean ± std over seeds
  dynamics_summary.png  t_train95 / t_test90 / t_unlearn over (alpha, xi) per weight decay
  pruning.png           accuracies and losses vs fraction pruned, low / high IPR first and random (Figs. 6, 17)
  regularizer_phase_diagrams.png  phases per dropout rate, BatchNorm, minibatch size (Fig. 3 panels), and
                        for modular multiplication per weight decay (App. P)
  batchnorm_gamma.png   per-neuron |gamma| vs IPR with Spearman correlations (Fig. 5)
  dropout_ipr_histograms.png  per-neuron IPR histograms per dropout rate in one cell (Fig. 4, dropout)
  width_pruning.png     neurons prunable (lowest IPR first) with test >= 90 % vs width N, seed means ± SE (App. Q)
  architecture_*.png    transformer, 3-layer MLP, cross-entropy, ReLU panels (figures/grokking_architectures.py)
The last seven need the pruning curves or the corresponding panels and are skipped without them.

Figures are built on ``matplotlib.figure.Figure`` directly (Agg canvas, never registered with pyplot),
so nothing stays open after saving and no global backend is switched for notebooks importing this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..sims.studies.grokking_claims import CELLS
from ..sims.study import param_value
from ..theory import grokking as theory

Phase = theory.Phase
DPI = 130
AXES = ("alpha", "xi", "weight_decay")

# fixed categorical colours, indexed by Phase value; -1 (invalid / diverged) is light grey
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


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure of the study into ``out_dir``; returns the PNG paths.

    ``evidence``: one sweep Dataset (read as the ``wd`` panel), or {panel: Dataset} of a scale with
    panels (sims/studies/grokking.py quick_scale). Figures of panels that are absent are skipped."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    panels = {"wd": evidence} if isinstance(evidence, xr.Dataset) else dict(evidence)
    ds = _with_grid_axes(panels["wd"])
    cells = figure_cells(ds)
    seeds = panels.get("seeds")
    written = [
        phase_diagrams(ds, out_dir / "phase_diagrams.png"),
        training_curves(ds, cells, out_dir / "training_curves.png"),
        ipr_histograms(ds, cells, out_dir / "ipr_histograms.png"),
        analytic_accuracy(_static(ds, "p"), _static(ds, "N"), out_dir / "analytic_accuracy.png"),
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
    from .grokking_architectures import make_all as architecture_figures  # it imports this module

    return written + architecture_figures(panels, out_dir)  # panels transformer, mlp3, cross_entropy, relu


# --------------------------------------------------------------------------------------------------
# Dataset helpers
# --------------------------------------------------------------------------------------------------


def _static(ds: xr.Dataset, name: str):
    """A non-swept parameter as a Python scalar (sims.study.param_value, reduced to one value)."""
    value = param_value(ds, name)
    return value.item() if hasattr(value, "ndim") and value.ndim == 0 else value


def _with_grid_axes(ds: xr.Dataset) -> xr.Dataset:
    """Make alpha, xi, weight_decay dimensions even when a sweep did not vary one of them."""
    for name in AXES:
        if name not in ds.dims:
            ds = ds.expand_dims(name) if name in ds.coords else ds.expand_dims({name: [_static(ds, name)]})
    return ds


def _title(ds: xr.Dataset) -> str:
    p, N, steps = _static(ds, "p"), _static(ds, "N"), _static(ds, "steps")
    scale = ds.attrs.get("scale", "?")
    return f"p {p}, N {N}, {steps} full-batch AdamW steps ({scale} scale, one seed per cell)"


def _cell(ds: xr.Dataset, alpha, xi, wd) -> xr.Dataset | None:
    """One grid cell, or None if the grid lacks it or the run diverged / has NaN accuracies."""
    try:
        c = ds.sel(alpha=alpha, xi=xi, weight_decay=wd, method="nearest", tolerance=1e-6)
    except KeyError:
        return None
    if ("diverged" in c and bool(c["diverged"])) or not np.isfinite(c["train_acc"].values[-1]):
        return None
    return c


def _cell_label(c: xr.Dataset) -> str:
    return f"α {float(c['alpha']):g}, ξ {float(c['xi']):g}, wd {float(c['weight_decay']):g}"


def _phase_name(value: int) -> str:
    return "invalid / diverged" if value < 0 else Phase(value).label


def figure_cells(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """The cells of the paper's Figure 1 roles: [(role, cell Dataset)].

    Named cells come from grokking_claims.CELLS[scale] (paper: alpha 0.5, xi 0.35, wd 0 / 5 / 15;
    quick: coexistence and full inversion cells, and the first Partial Inversion cell). A role whose
    named cell is missing or diverged, or any role at other scales, takes the cell of that final phase
    with the largest xi (then smallest alpha, wd); a phase absent from the data is skipped.
    """
    roles = [Phase.COEXISTENCE, Phase.PARTIAL_INVERSION, Phase.FULL_INVERSION]
    named = {}
    if ds.attrs.get("scale") in CELLS:
        c = CELLS[ds.attrs["scale"]]
        named[Phase.COEXISTENCE] = c.coexistence
        named[Phase.PARTIAL_INVERSION] = next((cell for cell, _, ph in c.phases if Phase.PARTIAL_INVERSION in ph), None)
        named[Phase.FULL_INVERSION] = c.full_inversion
    flat = ds["phase"].stack(c=AXES)
    order = np.lexsort((flat["weight_decay"].values, flat["alpha"].values, -flat["xi"].values))
    picked = []
    for role in roles:
        c = _cell(ds, *named[role]) if named.get(role) else None
        if c is None:
            for i in order:
                if int(flat.values[i]) == role:
                    c = _cell(ds, flat["alpha"].values[i], flat["xi"].values[i], flat["weight_decay"].values[i])
                    if c is not None:
                        break
        if c is not None:
            picked.append((role.label, c))
    return picked


def _empty(fig: Figure, message: str, path: Path) -> Path:
    fig.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 1. Phase diagrams (paper Fig. 3)
# --------------------------------------------------------------------------------------------------


def phase_diagrams(ds: xr.Dataset, path: Path) -> Path:
    """Phase of every (alpha, xi) cell, one panel per weight decay; each cell annotated with the final
    accuracy on the corrupted training subset vs its noisy labels. Reads phase, final_corrupt_acc."""
    p = _static(ds, "p")
    alphas, xis, wds = (ds[a].values for a in AXES)
    ncols = 2 if len(wds) == 4 else min(len(wds), 3)
    nrows = -(-len(wds) // ncols)
    panel_w, panel_h = max(3.2, 0.42 * len(alphas) + 1.2), max(2.8, 0.3 * len(xis) + 1.2)
    fig = Figure(figsize=(max(ncols * panel_w, 10), nrows * panel_h + 1.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    values = sorted(PHASE_COLORS)
    cmap = ListedColormap([PHASE_COLORS[v] for v in values])
    norm = BoundaryNorm(np.arange(values[0] - 0.5, values[-1] + 1.0), cmap.N)
    fontsize = 7 if len(alphas) <= 8 else 6
    # Partial Inversion needs the inversion boundary 1 - xi + xi/p + 0.05 below 90 % (fact sheet 3)
    xi_partial = (0.1 + theory.INVERSION_SLACK) / (1 - 1 / p)
    above = np.nonzero(xis > xi_partial)[0]
    xi_pos = above[0] - 0.5 if len(above) and above[0] > 0 else None  # between grid rows

    for ax, wd in zip(axes, wds):
        panel = ds.sel(weight_decay=wd)
        phase = panel["phase"].transpose("xi", "alpha").values.astype(int)
        corrupt = panel["final_corrupt_acc"].transpose("xi", "alpha").values
        ax.imshow(phase, origin="lower", cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        for i in range(len(xis)):
            for j in range(len(alphas)):
                if np.isfinite(corrupt[i, j]) and phase[i, j] >= 0:
                    color = "white" if phase[i, j] in DARK_PHASES else "black"
                    ax.text(j, i, f"c {100 * corrupt[i, j]:.0f}%", ha="center", va="center", fontsize=fontsize, color=color)
        if xi_pos is not None:
            ax.axhline(xi_pos, color="black", ls="--", lw=1)
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas], fontsize=7, rotation=90 if len(alphas) > 8 else 0)
        ax.set_yticks(range(len(xis)), [f"{x:g}" for x in xis], fontsize=7)
        ax.set_xlabel("training fraction α (of the p² pairs)")
        ax.set_ylabel("corruption fraction ξ (of train labels)")
        ax.set_title(f"weight decay {wd:g}")
    for ax in axes[len(wds):]:
        ax.set_visible(False)

    present = set(np.unique(ds["phase"].values).astype(int).tolist())
    handles = [Patch(color=PHASE_COLORS[v], label=_phase_name(v)) for v in values if v >= 0 or v in present]
    if xi_pos is not None:
        handles.append(Line2D([], [], color="black", ls="--", label=f"Partial Inversion possible above (ξ > {xi_partial:.3f})"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=8)
    fig.suptitle(
        f"Phase diagrams (final accuracies, paper App. C thresholds)\n{_title(ds)}\n"
        f"cell text c = final accuracy of the corrupted training subset vs its noisy labels\n"
        f"(Full Inversion: c ≈ chance {100 / p:.1f}%; at small ξ a fully inverted net is labelled Coexistence)",
        fontsize=9 if len(alphas) <= 8 else 12,
    )
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 2. Training curves (paper Fig. 1)
# --------------------------------------------------------------------------------------------------


def training_curves(ds: xr.Dataset, cells, path: Path) -> Path:
    """Train, test and corrupted-subset accuracies (vs noisy and vs true labels) over steps for the
    coexistence / partial / full inversion cells, with the analytic full-inversion train level
    100(1 - xi + xi/p) and chance 100/p. Reads train_acc, test_acc, corrupt_acc, corrupt_true_acc."""
    p = _static(ds, "p")
    fig = Figure(figsize=(max(4.2 * len(cells), 10), 4.2), layout="constrained")
    if not cells:
        return _empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = np.atleast_1d(fig.subplots(1, len(cells), sharey=True))
    series = [
        ("train_acc", "train (noisy labels)", "tab:blue"),
        ("test_acc", "test", "tab:orange"),
        ("corrupt_acc", "corrupted subset vs noisy labels", "tab:red"),
        ("corrupt_true_acc", "corrupted subset vs true labels", "tab:green"),
    ]
    for ax, (role, c) in zip(axes, cells):
        step = c["step"].values
        for var, label, color in series:
            ax.plot(step, 100 * c[var].values, color=color, lw=1.4, label=label)
        xi = float(c["xi"])
        level = 100 * theory.full_inversion_train_accuracy(xi, p)
        ax.axhline(level, color="tab:blue", ls="--", lw=1, label="full-inversion train level 100(1 - ξ + ξ/p)")
        ax.text(0.01, level + 1.5, f"{level:.1f}%", transform=ax.get_yaxis_transform(), fontsize=7, color="tab:blue")
        if xi > 0:
            ax.axhline(100 / p, color="tab:red", ls=":", lw=1, label="chance 100/p (corrupted subset, full inversion)")
        ax.set_xscale("symlog", linthresh=10, linscale=0.3)
        ax.set_xlim(0, step[-1])
        ax.set_ylim(-2, 102)
        ax.set_xlabel("optimizer step (linear below 10, log above)")
        ax.set_title(f"{role} cell: {_cell_label(c)}\nfinal phase: {_phase_name(int(c['phase']))}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:  # the chance line is absent from xi = 0 panels
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Grokking, then unlearning of corrupted labels (paper Fig. 1)\n{_title(ds)}", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 3. IPR histograms (paper Fig. 4)
# --------------------------------------------------------------------------------------------------


def ipr_histograms(ds: xr.Dataset, cells, path: Path) -> Path:
    """Per-neuron IPR histograms at the end of training (top) and mean IPR over steps (bottom) for the
    Figure 1 cells, beside the IPR of Gaussian rows, one-hot rows and a periodic (Eq. 2) neuron.
    Reads ipr, mean_ipr."""
    p = _static(ds, "p")
    fig = Figure(figsize=(max(4.0 * len(cells), 10), 5.8), layout="constrained")
    if not cells:
        return _empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = fig.subplots(2, len(cells), squeeze=False, height_ratios=(3, 1.6))
    references = [
        (theory.reference_ipr(p, "gaussian", rows=2000), "Gaussian row", "tab:gray", "--"),
        (theory.reference_ipr(p, "one_hot"), "one-hot row", "tab:purple", ":"),
        (1.0, "periodic neuron (Eq. 2)", "black", "-."),
    ]
    bins = np.linspace(0, 1, 21)
    for j, (role, c) in enumerate(cells):
        ipr = c["ipr"].values
        finite = ipr[np.isfinite(ipr)]
        top, bottom = axes[0, j], axes[1, j]
        top.hist(finite, bins=bins, color=PHASE_COLORS[int(c["phase"])], edgecolor="black", lw=0.5)
        zero = f", {len(ipr) - len(finite)} all-zero neurons left out" if len(finite) < len(ipr) else ""
        top.set_title(f"{role}: {_cell_label(c)}\nfinal phase {_phase_name(int(c['phase']))}{zero}", fontsize=9)
        top.set_xlabel("per-neuron IPR (rfft, mean of U, V, W rows)")
        bottom.plot(c["step"].values, c["mean_ipr"].values, color="tab:blue", lw=1.4, label="measured mean IPR")
        bottom.set_xlabel("optimizer step")
        for value, label, color, ls in references:
            top.axvline(value, color=color, ls=ls, lw=1.2, label=f"{label}: {value:.3f}")
            bottom.axhline(value, color=color, ls=ls, lw=1)
        top.set_xlim(0, 1.02)
        bottom.set_ylim(0, 1.05)
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
    axes[0, 0].set_ylabel(f"neurons (of {ds.sizes['neuron']})")
    axes[1, 0].set_ylabel("mean IPR over neurons")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += axes[1, 0].get_legend_handles_labels()[0]
    labels += axes[1, 0].get_legend_handles_labels()[1]
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8, title=f"reference IPR at p {p}", title_fontsize=8)
    fig.suptitle(f"Neuron periodicity (IPR, paper Fig. 4), bins of 0.05\n{_title(ds)}", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 4. Analytic solution vs width (fact sheet 2.2)
# --------------------------------------------------------------------------------------------------


def analytic_accuracy(p: int, trained_N: int, path: Path, draws: int = 5) -> Path:
    """Gromov's periodic solution (Eq. 2, A = (2/N)^(1/3)) for widths N from p/2 to 5p: accuracy on all
    p^2 pairs (mean, min-max over draws) and the correct-logit mean, wrong-logit std * sqrt(N)/2 and
    MSE * N/4 against their random-phase predictions (all 1). Computes theory.solution_statistics."""
    widths = np.unique(np.round(np.geomspace(max(p / 2, 2), 5 * p, 8)).astype(int))
    stats = [theory.solution_statistics(p, int(N), draws) for N in widths]
    fig = Figure(figsize=(10, 4.0), layout="constrained")
    acc_ax, logit_ax = fig.subplots(1, 2)

    acc = 100 * np.array([s["accuracy"] for s in stats])
    acc_ax.fill_between(widths, acc.min(1), acc.max(1), color="tab:blue", alpha=0.25, label=f"min-max over {draws} draws")
    acc_ax.plot(widths, acc.mean(1), "o-", color="tab:blue", label="mean accuracy")
    acc_ax.axhline(100, color="black", ls=":", lw=1, label="perfect (100%)")
    acc_ax.axvline(trained_N, color="tab:gray", ls="--", lw=1, label=f"trained width N = {trained_N}")
    acc_ax.set_xscale("log")
    acc_ax.set_xlabel("hidden width N (log scale)")
    acc_ax.set_ylabel(f"accuracy on all {p}² pairs (%)")
    acc_ax.set_title("argmax accuracy of the periodic solution", fontsize=9)
    acc_ax.legend(fontsize=8, loc="lower right")

    for key, label, color in [
        ("correct_logit", "correct logit (mean)", "tab:green"),
        ("wrong_std_scaled", "wrong-logit std · √N / 2", "tab:red"),
        ("mse_scaled", "MSE vs one-hot · N / 4", "tab:purple"),
    ]:
        values = np.array([s[key] for s in stats])
        logit_ax.fill_between(widths, values.min(1), values.max(1), color=color, alpha=0.2)
        logit_ax.plot(widths, values.mean(1), "o-", color=color, label=label)
    predicted = []
    for N in widths:
        pred = theory.predicted_logit_statistics(int(N))
        predicted.append((pred["correct_logit"], pred["wrong_std"] * np.sqrt(N) / 2, pred["mse"] * N / 4))
    logit_ax.plot(widths, np.array(predicted)[:, 0], "k--", lw=1.2, label="random-phase prediction (all three: 1)")
    logit_ax.set_xscale("log")
    logit_ax.set_xlabel("hidden width N (log scale)")
    logit_ax.set_ylabel("value (prediction 1)")
    logit_ax.set_title("logit statistics (bands: min-max over draws)", fontsize=9)
    logit_ax.legend(fontsize=8)
    for ax in (acc_ax, logit_ax):
        ax.set_xticks(widths, [str(N) for N in widths], minor=False)
        ax.set_xticks([], minor=True)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Gromov's periodic solution (Eq. 2, A = (2/N)^(1/3)) at p {p}, no training", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 5. Dynamics: grokking, then unlearning (paper Sec. 5.1), with seeds as error bands
# --------------------------------------------------------------------------------------------------

TIMES = (("t_train95", "train ≥ 95%", "tab:blue"), ("t_test90", "test ≥ 90%", "tab:orange"), ("t_unlearn", "corrupted < 10% (unlearned)", "tab:red"))


def _runs(seeds: xr.Dataset | None, c: xr.Dataset) -> xr.Dataset:
    """The runs of cell ``c`` over seeds: the seeds panel's cell if it has it, else ``c`` alone (with a
    seed dimension of length 1)."""
    if seeds is not None and "seed" in seeds.dims:
        try:
            sel = {k: float(c[k]) for k in AXES if k in seeds.dims}
            return seeds.sel(sel, method="nearest", tolerance=1e-6)
        except KeyError:
            pass
    return c.expand_dims("seed") if "seed" not in c.dims else c


def _band(ax, x, runs: xr.DataArray, color, label, scale=100.0):
    """Mean over seeds as a line and mean ± std as a band; NaN-safe."""
    values = scale * np.atleast_2d(runs.transpose("seed", ...).values)
    mean = np.nanmean(values, 0)
    ax.plot(x, mean, color=color, lw=1.4, label=label)
    if values.shape[0] > 1:
        std = np.nanstd(values, 0)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.25, lw=0)


def two_stage(ds: xr.Dataset, cells, seeds: xr.Dataset | None, path: Path) -> Path:
    """The two stages (paper Sec. 5.1, Fig. 1): train / test / corrupted-subset accuracy and mean IPR
    over steps in the Figure 1 cells, mean ± std over seeds when the ``seeds`` panel has the cell;
    dotted verticals at the median t_train95, t_test90 and t_unlearn; dashed the full-inversion level
    100(1 - xi + xi/p). Reads train_acc, test_acc, corrupt_acc, mean_ipr, t_*."""
    p = _static(ds, "p")
    fig = Figure(figsize=(max(4.4 * len(cells), 10), 4.6), layout="constrained")
    if not cells:
        return _empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = np.atleast_1d(fig.subplots(1, len(cells), sharey=True))
    for ax, (role, c) in zip(axes, cells):
        runs = _runs(seeds, c)
        step = runs["step"].values
        _band(ax, step, runs["train_acc"], "tab:blue", "train (noisy labels)")
        _band(ax, step, runs["test_acc"], "tab:orange", "test")
        _band(ax, step, runs["corrupt_acc"], "tab:red", "corrupted subset vs noisy labels")
        xi = float(c["xi"])
        ax.axhline(100 * theory.full_inversion_train_accuracy(xi, p), color="tab:blue", ls="--", lw=1, label="full-inversion level 100(1 - ξ + ξ/p)")
        for var, label, color in TIMES:
            t = runs[var].values if var in runs else np.array([np.nan])
            if np.isfinite(t).any():
                ax.axvline(np.nanmedian(t), color=color, ls=":", lw=1.2, label=f"median step: {label}")
        twin = ax.twinx()
        _band(twin, step, runs["mean_ipr"], "tab:purple", "mean IPR (right axis)", scale=1.0)
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("mean IPR", color="tab:purple", fontsize=8)
        ax.set_xscale("symlog", linthresh=10, linscale=0.3)
        ax.set_xlim(0, step[-1])
        ax.set_ylim(-2, 102)
        ax.set_xlabel("optimizer step (linear below 10, log above)")
        n = runs.sizes.get("seed", 1)
        ax.set_title(f"{role}: {_cell_label(c)}\n{n} seed{'s' if n > 1 else ''} (band: ± 1 std)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    h2, l2 = fig.axes[-1].get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(f"Two stages: grokking, then unlearning of the corrupted labels (paper Sec. 5.1)\n{_title(ds)}", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


def dynamics_summary(ds: xr.Dataset, path: Path) -> Path:
    """t_train95, t_test90 and t_unlearn (rows) over (alpha, xi) per weight decay (columns), colour on a
    log scale, '–' where never reached. Reads t_train95, t_test90, t_unlearn."""
    from matplotlib.colors import LogNorm

    alphas, xis, wds = (ds[a].values for a in AXES)
    steps = _static(ds, "steps")
    fig = Figure(figsize=(max(2.3 * len(wds), 10), 7.2), layout="constrained")
    axes = fig.subplots(len(TIMES), len(wds), squeeze=False)
    norm = LogNorm(vmin=max(1, _static(ds, "log_every")), vmax=steps)
    image = None
    for i, (var, label, _) in enumerate(TIMES):
        for j, wd in enumerate(wds):
            ax = axes[i, j]
            t = ds[var].sel(weight_decay=wd).transpose("xi", "alpha").values if var in ds else np.full((len(xis), len(alphas)), np.nan)
            image = ax.imshow(np.where(np.isfinite(t), t, np.nan), origin="lower", aspect="auto", cmap="viridis", norm=norm, interpolation="nearest")
            for yi in range(len(xis)):
                for xj in range(len(alphas)):
                    text = f"{t[yi, xj]:.0f}" if np.isfinite(t[yi, xj]) else "–"
                    ax.text(xj, yi, text, ha="center", va="center", fontsize=6, color="white" if np.isfinite(t[yi, xj]) and t[yi, xj] < np.sqrt(steps * 10) else "black")
            ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas], fontsize=7)
            ax.set_yticks(range(len(xis)), [f"{x:g}" for x in xis], fontsize=7)
            if i == 0:
                ax.set_title(f"weight decay {wd:g}", fontsize=9)
            if i == len(TIMES) - 1:
                ax.set_xlabel("α")
            if j == 0:
                ax.set_ylabel(f"{label}\nξ", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="optimizer step (log scale)")
    fig.suptitle(f"When each stage happens: first step with train ≥ 95%, test ≥ 90%, corrupted-subset accuracy < 10% after its peak\n{_title(ds)}; '–' = never", fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 6. Pruning by IPR (paper Figs. 6 and 17) with a random-order control
# --------------------------------------------------------------------------------------------------

PRUNE_SERIES = (("train_acc", "train", "tab:blue"), ("test_acc", "test", "tab:orange"), ("corrupt_acc", "corrupted subset", "tab:red"), ("clean_acc", "uncorrupted subset", "tab:green"))
ORDER_LABELS = (("low", "lowest IPR first"), ("high", "highest IPR first"), ("random", "random order (mean of 5 orders)"))


def pruning_curves(ds: xr.Dataset, cells, seeds: xr.Dataset | None, path: Path) -> Path:
    """Accuracies (train, test, corrupted, uncorrupted) and losses (train, test) versus the fraction of
    neurons pruned, no retraining, for each Figure 1 cell (rows) and order (columns: low IPR first,
    high IPR first, random; last column: losses of all three). Mean ± std over seeds where the
    ``seeds`` panel has the cell. Reads prune_{low,high,random}_*."""
    fig = Figure(figsize=(15, 3.3 * max(len(cells), 1) + 0.8), layout="constrained")
    if not cells:
        return _empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = fig.subplots(len(cells), 4, squeeze=False, sharex=True)
    for i, (role, c) in enumerate(cells):
        runs = _runs(seeds, c)
        N = runs.sizes["neuron"]
        frac = np.arange(N) / N
        for j, (order, title) in enumerate(ORDER_LABELS):
            ax = axes[i, j]
            for var, label, color in PRUNE_SERIES:
                _band(ax, frac, runs[f"prune_{order}_{var}"], color, label)
            ax.set_ylim(-2, 102)
            ax.grid(alpha=0.3)
            ax.set_title(f"{role} ({_cell_label(c)}): {title}", fontsize=8)
        ax = axes[i, 3]
        for (order, title), ls in zip(ORDER_LABELS, ("-", "--", ":")):
            _band(ax, frac, runs[f"prune_{order}_train_loss"], "tab:blue", f"train loss, {title}", scale=1.0)
            _band(ax, frac, runs[f"prune_{order}_test_loss"], "tab:orange", f"test loss, {title}", scale=1.0)
            for line in ax.get_lines()[-2:]:
                line.set_linestyle(ls)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.set_title(f"losses (MSE), {runs.sizes.get('seed', 1)} seed(s)", fontsize=8)
        axes[i, 0].set_ylabel("accuracy (%)")
    for ax in axes[-1]:
        ax.set_xlabel("fraction of neurons pruned")
    h1, l1 = axes[0, 0].get_legend_handles_labels()
    h2, l2 = axes[0, 3].get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncol=5, fontsize=7)
    fig.suptitle(f"Pruning the trained nets by per-neuron IPR, no retraining (paper Figs. 6, 17) with a random-order control\n{_title(ds)}; bands ± 1 std over seeds", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 7. Regularizers: phase diagrams per dropout rate, BatchNorm, minibatch size (paper Fig. 3)
# --------------------------------------------------------------------------------------------------


def _phase_panel(ax, phase: np.ndarray, corrupt: np.ndarray, alphas, xis, title: str):
    values = sorted(PHASE_COLORS)
    cmap = ListedColormap([PHASE_COLORS[v] for v in values])
    norm = BoundaryNorm(np.arange(values[0] - 0.5, values[-1] + 1.0), cmap.N)
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


def _majority_phase(panel: xr.Dataset) -> xr.Dataset:
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


def regularizer_diagrams(ds: xr.Dataset, panels, path: Path) -> Path:
    """One phase diagram over (alpha, xi) per regularizer setting: weight decay 0 (reference, from the
    ``wd`` panel), each dropout rate, BatchNorm (majority phase over seeds), each minibatch size. Cell
    text: final corrupted-subset accuracy. Reads phase, final_corrupt_acc."""
    entries = []
    ref = ds.sel(weight_decay=0.0, method="nearest")
    entries.append(("no regularization (wd 0, full batch)", ref))
    for name, panel in panels:
        panel = _majority_phase(panel)
        if name == "dropout":
            for q in np.atleast_1d(panel["dropout"].values):
                entries.append((f"dropout {q:g} (wd 0)", panel.sel(dropout=q)))
        elif name == "multiplication":
            for wd in np.atleast_1d(panel["weight_decay"].values):
                entries.append((f"(m·n) mod p, wd {wd:g} (App. P)", panel.sel(weight_decay=wd)))
        elif name.startswith("batchnorm"):
            entries.append((f"BatchNorm, batch {_static(panel, 'batch_size')}, lr {_static(panel, 'lr'):.3g}, {_static(panel, 'steps')} steps", panel))
        else:
            entries.append((f"minibatch {_static(panel, 'batch_size')}, lr {_static(panel, 'lr'):.4g}, {_static(panel, 'steps')} steps", panel))
    ncols = min(4, len(entries))
    nrows = -(-len(entries) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.2 * nrows + 1.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, panel) in zip(axes, entries):
        alphas, xis = np.atleast_1d(panel["alpha"].values), np.atleast_1d(panel["xi"].values)
        phase = np.atleast_2d(panel["phase"].transpose("xi", "alpha").values.astype(int))
        corrupt = np.atleast_2d(panel["final_corrupt_acc"].transpose("xi", "alpha").values)
        _phase_panel(ax, phase, corrupt, alphas, xis, title)
    for ax in axes[len(entries):]:
        ax.set_visible(False)
    present = set()
    for _, panel in entries:
        present |= set(np.unique(panel["phase"].values).astype(int).tolist())
    handles = [Patch(color=PHASE_COLORS[v], label=_phase_name(v)) for v in sorted(PHASE_COLORS) if v in present]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"Phases per regularizer (paper Fig. 3 panels); c = final corrupted-subset accuracy\n{_title(ds)} unless stated", fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path


def dropout_cells(ds: xr.Dataset, dropout: xr.Dataset) -> list[tuple[float, float]]:
    """(alpha, xi) cells for the dropout IPR figure: the scale's coexistence cell and the paper's
    Figure 4 cell (alpha 0.5, xi 0.35), those that both the ``wd`` and the ``dropout`` panel have."""
    wanted = [(0.5, 0.35)]
    if ds.attrs.get("scale") in CELLS:
        wanted.insert(0, CELLS[ds.attrs["scale"]].coexistence[:2])
    have = lambda d, a, x: np.isclose(d["alpha"].values, a).any() and np.isclose(d["xi"].values, x).any()
    cells = []
    for a, x in wanted:
        if (a, x) not in cells and have(ds, a, x) and have(dropout, a, x) and np.isclose(ds["weight_decay"].values, 0.0).any():
            cells.append((a, x))
    return cells


def dropout_ipr_histograms(ds: xr.Dataset, dropout: xr.Dataset, path: Path) -> Path:
    """Per-neuron IPR histograms at the end of training per dropout rate (0 from the ``wd`` panel's
    wd 0, then each rate of the ``dropout`` panel), one row per cell of ``dropout_cells`` (paper Fig. 4,
    dropout panels). Each panel: phase colour, final test and corrupted-subset accuracy, and the
    fractions of neurons with IPR < 0.2 (memorizing) and > 0.7 (periodic). Reads ipr, phase, final_*."""
    p = _static(ds, "p")
    cells = dropout_cells(ds, dropout)
    rates = [0.0, *np.atleast_1d(dropout["dropout"].values).tolist()]
    fig = Figure(figsize=(max(3.4 * len(rates), 10), 3.2 * max(len(cells), 1) + 1.4), layout="constrained")
    if not cells:
        return _empty(fig, "no (alpha, xi) cell shared by the wd 0 and dropout panels", path)
    axes = fig.subplots(len(cells), len(rates), squeeze=False, sharex=True)
    bins = np.linspace(0, 1, 21)
    gaussian = theory.reference_ipr(p, "gaussian", rows=2000)
    for i, (a, x) in enumerate(cells):
        for j, q in enumerate(rates):
            ax = axes[i, j]
            c = (ds.sel(alpha=a, xi=x, weight_decay=0.0, method="nearest") if q == 0 else
                 dropout.sel(alpha=a, xi=x, dropout=q, method="nearest"))
            ipr = c["ipr"].values
            finite = ipr[np.isfinite(ipr)]
            phase = int(c["phase"])
            ax.hist(finite, bins=bins, color=PHASE_COLORS[phase], edgecolor="black", lw=0.5)
            ax.axvline(gaussian, color="tab:gray", ls="--", lw=1.2, label=f"Gaussian row: {gaussian:.3f}")
            ax.axvline(1.0, color="black", ls="-.", lw=1.2, label="periodic neuron (Eq. 2): 1")
            low, high = (100 * np.mean(finite < 0.2), 100 * np.mean(finite > 0.7)) if len(finite) else (np.nan, np.nan)
            ax.set_title(f"dropout {q:g}: α {a:g}, ξ {x:g} -> {_phase_name(phase)}\n"
                         f"test {100 * float(c['final_test_acc']):.0f} %, corrupted {100 * float(c['final_corrupt_acc']):.0f} %; "
                         f"IPR<0.2: {low:.0f} %, >0.7: {high:.0f} %", fontsize=8)
            ax.set_xlim(0, 1.02)
            ax.grid(alpha=0.3)
            if i == len(cells) - 1:
                ax.set_xlabel("per-neuron IPR (rfft, mean of U, V, W rows)")
        axes[i, 0].set_ylabel(f"neurons (of {ds.sizes['neuron']})")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, title=f"reference IPR at p {p}", title_fontsize=8)
    fig.suptitle(f"Dropout (on the hidden pre-activation, wd 0) removes the memorizing low-IPR neurons (paper Fig. 4, dropout)\n"
                 f"{_title(ds)}; bins of 0.05, bar colour = final phase", fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path


def batchnorm_gamma(panel: xr.Dataset, path: Path) -> Path:
    """BatchNorm mechanism (paper Fig. 5): per-neuron |gamma| against IPR in each cell of the BatchNorm
    panel (all seeds pooled, one colour per seed), with the Spearman rank correlation per seed.
    Reads ipr, bn_gamma."""
    from ..sims.studies.grokking_claims import spearman

    alphas, xis = np.atleast_1d(panel["alpha"].values), np.atleast_1d(panel["xi"].values)
    fig = Figure(figsize=(3.3 * len(alphas), 2.9 * len(xis) + 0.8), layout="constrained")
    axes = fig.subplots(len(xis), len(alphas), squeeze=False, sharex=True)
    for i, x in enumerate(xis):
        for j, a in enumerate(alphas):
            ax = axes[len(xis) - 1 - i, j]
            c = panel.sel(alpha=a, xi=x)
            runs = [c.isel(seed=s) for s in range(c.sizes["seed"])] if "seed" in c.dims else [c]
            rhos = []
            for s, r in enumerate(runs):
                ipr, gamma = r["ipr"].values, r["bn_gamma"].values
                ax.scatter(ipr, gamma, s=4, alpha=0.5, color=f"C{s}")
                rhos.append(spearman(ipr, gamma))
            phase = _phase_name(int(runs[0]["phase"]))
            ax.set_title(f"α {a:g}, ξ {x:g}: {phase}\nSpearman ρ {', '.join(f'{r:.2f}' for r in rhos)}", fontsize=8)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("per-neuron IPR")
    for ax in axes[:, 0]:
        ax.set_ylabel("|γ| (BatchNorm scale)")
    fig.suptitle(f"BatchNorm damps memorizing (low-IPR) neurons (paper Fig. 5): batch {_static(panel, 'batch_size')}, lr {_static(panel, 'lr'):g}, {_static(panel, 'steps')} steps, p {_static(panel, 'p')}, N {_static(panel, 'N')}; one colour per seed", fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 8. How much can be pruned, versus width (paper App. Q)
# --------------------------------------------------------------------------------------------------


def width_pruning(panel: xr.Dataset, path: Path) -> Path:
    """Neurons prunable with test accuracy >= 90 % (lowest IPR first, and the random-order control)
    versus width N: count (left) and fraction of N (right), mean ± standard error over seeds, each seed
    a dot. Reads n_prunable_low, n_prunable_random (sims.studies.grokking.prunable_neurons)."""
    widths = np.atleast_1d(panel["N"].values).astype(float)
    fig = Figure(figsize=(10, 4.0), layout="constrained")
    count_ax, frac_ax = fig.subplots(1, 2)
    for order, label, color in (("low", "lowest IPR first", "tab:blue"), ("random", "random order (mean curve of 5)", "tab:gray")):
        values = panel[f"n_prunable_{order}"].transpose("N", ...).values.reshape(len(widths), -1)
        n = np.sum(np.isfinite(values), 1)
        mean = np.nanmean(values, 1)
        se = np.nanstd(values, 1, ddof=1) / np.sqrt(np.maximum(n, 1)) if values.shape[1] > 1 else np.zeros(len(widths))
        for ax, scale in ((count_ax, 1.0), (frac_ax, 100.0 / widths)):
            s = np.asarray(scale) * np.ones(len(widths))
            ax.errorbar(widths, mean * s, yerr=se * s, fmt="o-", color=color, capsize=3, label=f"{label} (mean ± SE)")
            for j in range(values.shape[1]):
                ax.scatter(widths, values[:, j] * s, s=8, color=color, alpha=0.35)
    count_ax.plot(widths, widths, "k:", lw=1, label="all neurons (N)")
    count_ax.set_ylabel("neurons prunable with test ≥ 90%")
    frac_ax.set_ylabel("prunable fraction of N (%)")
    seeds = panel.sizes.get("seed", 1)
    for ax in (count_ax, frac_ax):
        ax.set_xscale("log")
        ax.set_xticks(widths, [f"{w:g}" for w in widths])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("hidden width N (log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    cell = f"α {_static(panel, 'alpha')}, ξ {_static(panel, 'xi')}, wd {_static(panel, 'weight_decay')}, lr {_static(panel, 'lr')}"
    fig.suptitle(f"How much of the net can be pruned by IPR without losing generalization, vs width (paper App. Q)\np {_static(panel, 'p')}, {_static(panel, 'steps')} steps, {cell}; {seeds} seeds", fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path
