"""Figures of the `mha-capacity` study (memorization by one multi-head attention layer).

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers"
(ICLR 2024, arXiv 2306.02010); fact sheet shared/papers/mha_capacity.md, sections 3, 4.2, 4.3, 5, 6.2-6.4.

``make_all(evidence, out_dir)`` reads ``{panel: Dataset}`` from sims/studies/mha_capacity.py (panels
'heads' (H), 'context' (n), 'head_dim' (d_h), 'heads_random' (H, random contexts); each with axes T,
seed, lr and the variables of ``summarize``; any panel may be missing) and writes:
  capacity.png          T99 capacity vs H, n and d_h beside the construction bound H(min(n,d_h)-1)+1
                        and the Dana-Pydi-Chevaleyre count H d_h + d (paper Fig. 2)
  memorized_vs_T.png    chance-corrected memorized count and training accuracy vs T, one curve per H
  saturation.png        largest attention weight per (example, head) after training vs at init, the
                        saturated fraction vs T, and how many heads saturate per example (paper 4.3)
  construction.png      the constructive proof (fact sheet 3.2) in float64: rank(Z) and max|Z^T v - y|
                        vs T; only if theory/mha_capacity.py provides ``construct`` and ``synthetic_data``
  assumptions.png       Assumptions 1-2 vs General Position (fact sheet 2): Kruskal-rank pass fraction vs k and
                        per-example context rank on synthetic data, tokens with sinusoidal positions and one
                        random attention layer over scikit-learn digits patches, plus controls built to fail;
                        computed from theory (no sweep results), a few seconds

The two bounds are computed here (they are one line each) so the figures never depend on the theory
module; the construction and assumption figures use it through a guarded import. Figures are built on
``matplotlib.figure.Figure`` directly (never registered with pyplot), as in figures/grokking.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from ..sims.study import param_value

DPI = 130
SATURATED = 0.99  # sims/studies/mha_capacity.SATURATED
THRESHOLD = 0.99  # capacity = largest T with training accuracy >= this
PANELS = (("heads", "H", "number of heads H"), ("context", "n", "context length n"), ("head_dim", "d_h", "head dimension d_h"))
BOUND_STYLE = {"color": "black", "lw": 1.3, "ls": "-"}
DPC_STYLE = {"color": "tab:red", "lw": 1.3, "ls": "--"}
SERIES_COLORS = {"heads": "tab:blue", "heads_random": "tab:orange", "context": "tab:blue", "head_dim": "tab:blue"}
CONSTRUCTION_CONFIGS = ((2, 4, 16), (4, 8, 4), (4, 8, 16), (8, 8, 16))  # (H, n, d_h), d = 16


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths.

    evidence: {panel name: summarized Dataset}; missing or None panels are skipped (a figure whose
    panels are all missing is not written).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: _with_seed_stats(v) for k, v in (evidence or {}).items()
          if isinstance(v, xr.Dataset) and "capacity" in v and "T" in v.dims}
    paths = []
    if any(name in ev for name, _, _ in PANELS) or "heads_random" in ev:
        paths.append(capacity_figure(ev, out_dir / "capacity_memorized.png", measure="max_memorized"))
        paths.append(capacity_figure(ev, out_dir / "capacity.png", measure="capacity"))
    heads_name = "heads" if "heads" in ev else "heads_random" if "heads_random" in ev else None
    if heads_name is not None:
        paths.append(memorized_vs_T(ev[heads_name], out_dir / "memorized_vs_T.png", heads_name))
        paths.append(saturation_figure(ev[heads_name], out_dir / "saturation.png", heads_name))
    for path in (construction_figure(out_dir / "construction.png"), assumption_figure(out_dir / "assumptions.png")):
        if path is not None:
            paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------------
# Bounds (fact sheet 3.1, 5) and Dataset helpers
# --------------------------------------------------------------------------------------------------


def construction_bound(H, n, d_h):
    """Theorem 1: H (min(n, d_h) - 1) + 1 examples, with attention weights built, not trained."""
    return np.asarray(H) * (np.minimum(n, d_h) - 1) + 1


def dpc_bound(H, d_h, d):
    """Dana, Pydi, Chevaleyre (arXiv 2411.10115): H d_h + d associations (attention-only LM with skip)."""
    return np.asarray(H) * np.asarray(d_h) + d


def _static(ds: xr.Dataset, name: str):
    """A parameter (sims.study.param_value): a size-1 or scalar coordinate as a Python scalar, a swept
    coordinate as an array, else the sweep's base value."""
    value = param_value(ds, name)
    if isinstance(value, xr.DataArray):
        values = np.asarray(value.values)
        return values.reshape(-1)[0].item() if values.size == 1 else values
    return value


def _title(ds: xr.Dataset) -> str:
    d, D, C, steps = (_static(ds, k) for k in ("d", "D", "C", "steps"))
    task = f"C = {C} classes" if C > 1 else "regression (C = 1)"
    return f"d = {d}, D = {D}, {task}, {steps} full-batch Adam steps, {ds.attrs.get('scale', '?')} scale"


def _lr_text(ds: xr.Dataset, per: str) -> str:
    """'best lr per <per>' when lr is swept, else the single lr."""
    if "lr" in ds.dims and ds.sizes["lr"] > 1:
        return f"best lr per {per}"
    return f"lr {float(np.atleast_1d(_static(ds, 'lr'))[0]):g}"


def _selected(ds: xr.Dataset, var: str, keep: tuple[str, ...]) -> xr.DataArray:
    """ds[var] with size-1 dims other than ``keep`` dropped and any other extra dim at its first value."""
    da = ds[var]
    for dim in list(da.dims):
        if dim not in keep:
            da = da.isel({dim: 0}, drop=True)
    return da.transpose(*[k for k in keep if k in da.dims])


def _series_dims(ds: xr.Dataset, axis: str) -> list[tuple[str, xr.Dataset]]:
    """Split a panel into series along an extra swept dim of size > 1 (e.g. H in a context panel)."""
    extra = [dim for dim in ds["capacity"].dims if dim not in (axis, "seed") and ds.sizes[dim] > 1]
    if not extra:
        return [("", ds)]
    dim = extra[0]
    return [(f"{dim} = {v:g}", ds.sel({dim: v})) for v in ds[dim].values]


def best_lr_choice(ds: xr.Dataset) -> xr.DataArray | None:
    """Index of the best learning rate per (..., T, seed): highest best-checkpoint accuracy, ties broken
    by the lower minimum training loss (the loss term is below one example's accuracy step). None if
    the panel has no lr axis."""
    if "lr" not in ds.dims:
        return None
    acc = ds["best_acc"] if "best_acc" in ds else ds["train_acc"].isel(step=-1)
    loss = ds["train_loss"].min("step", skipna=True).fillna(np.inf).clip(0, 1)
    T_max = float(np.max(ds["T"].values)) if "T" in ds.coords else float(_static(ds, "T_max"))
    score = acc.fillna(-1.0) - loss / (10.0 * T_max)
    return score.argmax("lr")


def _at_best_lr(ds: xr.Dataset, var: str) -> xr.DataArray:
    choice = best_lr_choice(ds)
    return ds[var] if choice is None else ds[var].isel(lr=choice)


def _with_seed_stats(ds: xr.Dataset) -> xr.Dataset:
    """A panel with a seed axis and the seed statistics of ``summarize`` (one seed: all equal capacity)."""
    ds = ds.copy()
    if "seed" not in ds.dims:
        seed = [_static(ds, "seed")] if "seed" not in ds.coords else [ds["seed"].item()]
        ds = ds.drop_vars("seed", errors="ignore")
        for var in ("capacity", "capacity_censored", "acc", "memorized", "best_acc", "saturated_fraction",
                    "saturated_fraction_init", "max_attn", "max_attn_init", "train_loss", "train_acc"):
            if var in ds:
                ds[var] = ds[var].expand_dims(seed=seed, axis=-1)
    cap = ds["capacity"]
    for name, value in (("mean", cap.mean("seed")), ("lo", cap.mean("seed")), ("hi", cap.mean("seed")),
                        ("min", cap.min("seed")), ("max", cap.max("seed"))):
        if f"capacity_{name}" not in ds:
            ds[f"capacity_{name}"] = value
    if "max_memorized" in ds and "max_memorized_mean" not in ds:
        M, k = ds["max_memorized"], ds.sizes["seed"]
        mean = M.mean("seed")
        half = _t975(k - 1) * M.std("seed", ddof=1) / np.sqrt(k) if k > 1 else xr.zeros_like(mean)
        ds["max_memorized_mean"], ds["max_memorized_lo"], ds["max_memorized_hi"] = mean, mean - half, mean + half
        ds["max_memorized_min"], ds["max_memorized_max"] = M.min("seed"), M.max("seed")
        ds["max_memorized_censored"] = M >= float(ds["T"].max()) - 0.5  # the whole T grid memorized
    return ds


def _t975(df: int) -> float:
    from ..sims.studies.mha_capacity import t975

    return t975(df)


def _empty(fig: Figure, message: str, path: Path) -> Path:
    fig.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(path, dpi=DPI)
    return path


def _unique_legend(fig: Figure, axes, order: tuple[str, ...] = (), **kwargs):
    """One figure legend with each label once; labels starting with an ``order`` prefix come first, in
    that order (column-major filling keeps them together)."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    rank = lambda lab: next((i for i, prefix in enumerate(order) if lab.startswith(prefix)), len(order))  # noqa: E731
    pairs = sorted(zip(handles, labels), key=lambda hl: rank(hl[1]))
    handles, labels = [h for h, _ in pairs], [lab for _, lab in pairs]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", **kwargs)


# --------------------------------------------------------------------------------------------------
# 1. Capacity vs H, n, d_h (paper Fig. 2)
# --------------------------------------------------------------------------------------------------


def _capacity_series(ax, ds: xr.Dataset, axis: str, color: str, label: str, offset: float = 0.0,
                     measure: str = "capacity") -> list[float]:
    """Seed mean with t-interval error bars, seed min/max as faint markers, censored points open with an
    upward arrow, seeds below the T grid as down triangles at the smallest T. ``measure``: 'capacity'
    (T99) or 'max_memorized' (M). Returns the y values drawn."""
    x = ds[axis].values.astype(float)
    xs = x * (1 + offset) if ax.get_xscale() == "log" else x + offset
    mean, lo, hi, mn, mx = (_selected(ds, f"{measure}_{v}", (axis,)).values.astype(float) for v in
                            ("mean", "lo", "hi", "min", "max"))
    cap = _selected(ds, measure, (axis, "seed")).values.astype(float)
    censored = _selected(ds, f"{measure}_censored", (axis, "seed")).values.astype(bool)
    T_grid = ds["T"].values.astype(float)
    k = cap.shape[1]
    any_cens = censored.any(axis=1)
    below = np.isnan(cap).sum(axis=1)
    lo = np.maximum(lo, 1.0)  # a t-interval over few seeds can reach below one example
    err = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
    err = np.where(np.isfinite(err), err, 0.0)
    ax.errorbar(xs, mean, yerr=err, color=color, lw=1.5, capsize=3, marker="o", ms=5,
                label=f"{label}: seed mean, 95% t-interval over {k} seeds (clipped at 1)")
    ax.plot(xs, mn, ls="none", marker="_", ms=10, mew=1.5, color=color, alpha=0.45, label="seed min / max")
    ax.plot(xs, mx, ls="none", marker="_", ms=10, mew=1.5, color=color, alpha=0.45)
    if any_cens.any():
        # open mean marker; an arrow up from T_max (beside the error bar) for every censored seed
        ax.plot(xs[any_cens], mean[any_cens], ls="none", marker="o", ms=8, mfc="white", mec=color, mew=1.5,
                label="censored: a seed memorized the whole T grid (↑: its capacity exceeds the largest T)")
        beside = offset_copy(ax.transData, fig=ax.figure, x=7, units="points")
        for xi, count in zip(xs[any_cens], censored.sum(axis=1)[any_cens]):
            ax.annotate("", xy=(xi, T_grid[-1]), xycoords=beside, xytext=(0, 24), textcoords="offset points",
                        arrowprops={"arrowstyle": "<|-", "color": color, "lw": 1.5})
            if count > 1:
                ax.annotate(f"{count}/{k}", (xi, T_grid[-1]), xycoords=beside, xytext=(4, 10),
                            textcoords="offset points", fontsize=6, color=color)
    if below.any():
        rows = below > 0
        ax.plot(xs[rows], np.full(rows.sum(), T_grid[0]), ls="none", marker="v", ms=7, mfc="white", mec=color,
                label="seeds below the T grid (smallest T not memorized)")
        for xi, b in zip(xs[rows], below[rows]):
            ax.annotate(f"{b}/{k}", (xi, T_grid[0]), xytext=(0, -11), textcoords="offset points", ha="center",
                        fontsize=6, color=color)
    return [v for v in np.concatenate([mean, mn, mx, T_grid[[0, -1]]]) if np.isfinite(v) and v > 0]


def _bound_curves(ds: xr.Dataset, axis: str, x: np.ndarray):
    """(construction bound, DPC line) on a dense x grid, other parameters from the panel."""
    params = {name: _static(ds, name) for name in ("H", "n", "d_h", "d") if name != axis}
    params[axis] = x
    con = construction_bound(params["H"], params["n"], params["d_h"])
    dpc = dpc_bound(params["H"], params["d_h"], params["d"])
    return np.broadcast_to(con, x.shape).astype(float), np.broadcast_to(dpc, x.shape).astype(float)


MEASURES = {
    "max_memorized": ("memorization capacity M (examples)",
                      "chance-corrected memorized count M = max over T of T (acc − 1/C)/(1 − 1/C) (the claims' measure)"),
    "capacity": ("capacity T99 (examples)", "largest T with ≥ 99% training accuracy"),
}


def capacity_figure(evidence: dict, path: Path, measure: str = "capacity") -> Path:
    """Capacity vs H, n and d_h, beside H(min(n,d_h)-1)+1 and H d_h + d. ``measure`` 'capacity': T99
    (largest T with >= 99 % training accuracy, best lr per (T, seed)), reads capacity*; 'max_memorized':
    M, the chance-corrected memorized count maximised over T (what the claims test)."""
    ylabel, what = MEASURES[measure]
    present = [(name, axis, xlabel) for name, axis, xlabel in PANELS
               if name in evidence or (name == "heads" and "heads_random" in evidence)]
    fig = Figure(figsize=(max(5.2 * len(present), 11.5), 5.6), layout="constrained")
    if not present:
        return _empty(fig, "no heads / context / head_dim panel in the evidence", path)
    axes = np.atleast_1d(fig.subplots(1, len(present)))
    ref = None
    for ax, (name, axis, xlabel) in zip(axes, present):
        series = [(name, evidence[name], "trained, shared context")] if name in evidence else []
        if name == "heads" and "heads_random" in evidence:
            series.append(("heads_random", evidence["heads_random"], "trained, random contexts"))
        ref = ref or series[0][1]
        xs_all = np.unique(np.concatenate([s[axis].values for _, s, _ in series]).astype(float))
        if axis == "d_h" and xs_all.max() / max(xs_all.min(), 1) >= 8:
            ax.set_xscale("log", base=2)
        ys, parts = [], []
        for key, ds, label in series:
            for sub_label, sub in _series_dims(ds, axis):
                parts.append((key, sub, f"{label}{', ' + sub_label if sub_label else ''}"))
        width = np.diff(xs_all).min() if len(xs_all) > 1 else 1.0
        for j, (key, sub, label) in enumerate(parts):
            offset = (j - (len(parts) - 1) / 2) * (0.04 if ax.get_xscale() == "log" else 0.06 * width)
            color = SERIES_COLORS.get(key, "tab:blue") if len(parts) <= 2 else f"C{j}"
            ys += _capacity_series(ax, sub, axis, color, label, offset, measure)
        # bounds: a dense integer grid, since min(n, d_h) kinks between grid points
        dense = np.unique(np.r_[np.arange(xs_all.min(), xs_all.max() + 1), xs_all]) if axis != "H" else xs_all
        drawn = set()
        for key, sub, label in parts:
            con, dpc = _bound_curves(sub, axis, dense)
            sig = (tuple(np.round(con, 6)), tuple(np.round(dpc, 6)))
            if sig in drawn:
                continue
            drawn.add(sig)
            ax.plot(dense, con, **BOUND_STYLE, label="construction bound H(min(n, d_h) − 1) + 1 (attention frozen)")
            ax.plot(dense, dpc, **DPC_STYLE, label="Dana–Pydi–Chevaleyre H·d_h + d (attention-only LM)")
            ys += [v for v in np.concatenate([con, dpc]) if v > 0]
        T_grid = parts[0][1]["T"].values
        ax.axhspan(T_grid.min(), T_grid.max(), color="0.5", alpha=0.07, lw=0,
                   label="measurable range (the panel's T grid)")
        if axis == "d_h":
            n = _static(parts[0][1], "n")
            if np.ndim(n) == 0:
                ax.axvline(n, color="tab:green", ls=":", lw=1.5, label="d_h = n (plateau predicted beyond)")
        fixed = {k: _static(parts[0][1], k) for k in ("H", "n", "d_h") if k != axis}
        fixed_txt = ", ".join(f"{k} = {v}" for k, v in fixed.items() if np.ndim(v) == 0)
        ax.set_title(f"capacity vs {xlabel.split()[-1]} ({fixed_txt})", fontsize=10)
        ax.set_xlabel(xlabel + (" (log scale)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel(ylabel)
        ax.set_xticks(xs_all, [f"{v:g}" for v in xs_all])
        ax.set_xticks([], minor=True)
        if measure == "max_memorized" and axis == "H" and name in evidence:  # the claim's fit, drawn
            from ..sims.studies.mha_capacity_claims import fit_line

            H = evidence[name]["H"].values.astype(float)
            M = _selected(evidence[name], "max_memorized_mean", ("H",)).values.astype(float)
            use = (H >= 2) & np.isfinite(M)
            if use.sum() >= 3:
                slope, icpt, r2 = fit_line(H[use], M[use])
                ax.plot(H[use], icpt + slope * H[use], color="0.3", ls="-.", lw=1.2,
                        label=f"least-squares line on H ≥ 2 (shared): {slope:.0f} per head, R² {r2:.3f}")
        if measure == "max_memorized":
            ax.set_ylim(0, 1.1 * max(v for v in ys if v <= 1.5 * float(parts[0][1]["T"].max())))
        elif ys and max(ys) / min(ys) > 30:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    _unique_legend(fig, axes, order=("trained", "least-squares", "seed min", "censored", "some seed", "construction", "Dana", "d_h = n"),
                   ncol=3 if len(present) == 3 else 2, fontsize=8)
    fig.suptitle(
        f"Memorization capacity of one multi-head attention layer (paper Fig. 2): {what}, "
        f"{_lr_text(ref, '(T, seed)')}\n{_title(ref)}\n"
        "The bound caps the construction with attention frozen (fact sheet 3.3), not a trained model: trained "
        "W_Q, W_K can memorize more.",
        fontsize=10,
    )
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 2. Memorized count vs T
# --------------------------------------------------------------------------------------------------


def memorized_vs_T(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """Chance-corrected memorized count T (acc - 1/C) / (1 - 1/C) (left) and training accuracy (right)
    vs T, one curve per H (seed mean, band min-max), with the identity T, the 99 % capacity points and
    the construction bound on the identity. Reads memorized, acc, capacity_mean, capacity_censored."""
    C = int(_static(ds, "C"))
    n, d_h = _static(ds, "n"), _static(ds, "d_h")
    fig = Figure(figsize=(12, 5.4), layout="constrained")
    ax_m, ax_a = fig.subplots(1, 2)
    T = ds["T"].values.astype(float)
    H_values = np.atleast_1d(_static(ds, "H"))
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=H_values)
    colors = [f"C{i % 10}" for i in range(len(H_values))]
    ax_m.plot([T[0] / 1.2, T[-1] * 1.2], [T[0] / 1.2, T[-1] * 1.2], color="black", lw=1, ls=":",
              label="identity T (all memorized)")
    floor = []
    for H, color in zip(H_values, colors):
        sub = ds_h.sel(H=H)
        mem = _selected(sub, "memorized", ("T", "seed")).values.astype(float)
        acc = _selected(sub, "acc", ("T", "seed")).values.astype(float)
        ax_m.fill_between(T, np.nanmin(mem, 1), np.nanmax(mem, 1), color=color, alpha=0.18, lw=0)
        ax_m.plot(T, np.nanmean(mem, 1), "o-", ms=3.5, color=color, lw=1.4, label=f"H = {H:g}")
        ax_a.fill_between(T, np.nanmin(acc, 1), np.nanmax(acc, 1), color=color, alpha=0.18, lw=0)
        ax_a.plot(T, np.nanmean(acc, 1), "o-", ms=3.5, color=color, lw=1.4)
        floor.append(np.nanmin(mem))
        cap = float(_selected(sub, "capacity_mean", ()).values)
        cens = bool(_selected(sub, "capacity_censored", ("seed",)).values.any())
        if np.isfinite(cap):
            y = cap * (THRESHOLD - 1 / C) / (1 - 1 / C) if C > 1 else cap * THRESHOLD
            ax_m.plot(cap, y, marker="*", ms=13, color=color, mfc="white" if cens else color, mec=color, zorder=5)
            ax_a.plot(cap, THRESHOLD, marker="*", ms=13, color=color, mfc="white" if cens else color, mec=color, zorder=5)
        bound = float(construction_bound(H, n, d_h))
        if T[0] / 1.5 <= bound <= T[-1] * 1.5:
            ax_m.plot(bound, bound, marker="x", ms=8, mew=2, color=color, zorder=5)
    ax_a.axhline(THRESHOLD, color="black", lw=1, ls="--", label="99% threshold")
    if C > 1:
        ax_a.axhline(1 / C, color="tab:gray", lw=1, ls=":", label=f"chance 1/C = {1 / C:.2g}")
    for ax in (ax_m, ax_a):
        ax.set_xscale("log", base=2)
        ax.set_xticks(T, [f"{v:g}" for v in T])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("training examples T (log scale)")
        ax.grid(alpha=0.3)
    if min(floor) > 0:
        ax_m.set_yscale("log", base=2)
    else:
        ax_m.set_yscale("symlog", linthresh=max(T[0], 1), base=2)
    ax_m.set_ylabel("chance-corrected memorized examples\nT (acc − 1/C) / (1 − 1/C)" if C > 1 else "examples within tolerance")
    ax_a.set_ylabel(f"training accuracy (best checkpoint, {_lr_text(ds, '(T, seed)')})")
    ax_m.set_title("memorized count (seed mean, band: seed min–max)", fontsize=10)
    ax_a.set_title("training accuracy: capacity T99 is where it crosses 99%", fontsize=10)
    handles, labels = ax_m.get_legend_handles_labels()
    handles += ax_a.get_legend_handles_labels()[0]
    labels += ax_a.get_legend_handles_labels()[1]
    handles += [Line2D([], [], ls="none", marker="*", ms=11, color="0.3"),
                Line2D([], [], ls="none", marker="*", ms=11, mfc="white", mec="0.3"),
                Line2D([], [], ls="none", marker="x", ms=8, mew=2, color="0.3")]
    labels += ["99%-capacity (seed mean)", "censored capacity (lower bound)",
               "construction bound H(min(n, d_h) − 1) + 1 on the identity"]
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), fontsize=8)
    ctx = "random contexts" if _static(ds, "context") == "random" else "shared context"
    fig.suptitle(f"Memorized examples vs training-set size ('{panel}' panel, {ctx}, n = {n}, d_h = {d_h})\n{_title(ds)}",
                 fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 3. Softmax saturation (fact sheet 4.3)
# --------------------------------------------------------------------------------------------------


def saturation_config(ds: xr.Dataset) -> tuple[int, int]:
    """(H, T) for the saturation panels: the largest H and the grid T nearest its mean capacity (largest
    T if censored, smallest if below the grid)."""
    H_values = np.atleast_1d(_static(ds, "H"))
    H = int(H_values.max())
    sub = ds.sel(H=H) if "H" in ds.dims else ds
    T = sub["T"].values
    cap = float(_selected(sub, "capacity_mean", ()).values)
    if bool(_selected(sub, "capacity_censored", ("seed",)).values.any()):
        return H, int(T.max())
    if not np.isfinite(cap):
        return H, int(T.min())
    return H, int(T[np.argmin(np.abs(np.log(T) - np.log(cap)))])


def construction_saturation(H: int, n: int, d_h: int) -> np.ndarray:
    """Fraction of examples with k = 0..H saturated heads in the construction at T = H(r - 1) + 1:
    group h (0-based; sizes r, r-1, ...) is placed by head h and saturated by every later head."""
    r = min(n, d_h)
    sizes = np.array([r] + [r - 1] * (H - 1), float)
    counts = np.zeros(H + 1)
    for h, size in enumerate(sizes):
        counts[H - 1 - h] += size
    return counts / counts.sum()


def saturation_figure(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """Left: per-(example, head) largest attention weight after training vs at init for the largest H at
    the T nearest its capacity (best lr per seed, seeds pooled). Middle: saturated fraction vs T per H.
    Right: saturated heads per example (0..H) beside the construction's split. Reads max_attn,
    max_attn_init, saturated_fraction, saturated_fraction_init."""
    n, d_h = int(_static(ds, "n")), int(_static(ds, "d_h"))
    H, T = saturation_config(ds)
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=[H])
    cell = ds_h.sel(H=H, T=T)
    choice = best_lr_choice(cell)
    after = cell["max_attn"] if choice is None else cell["max_attn"].isel(lr=choice)
    init = cell["max_attn_init"] if choice is None else cell["max_attn_init"].isel(lr=choice)
    after = _selected(after.to_dataset(name="a"), "a", ("seed", "example", "head")).values[:, :T, :H]
    init = _selected(init.to_dataset(name="a"), "a", ("seed", "example", "head")).values[:, :T, :H]
    k = after.shape[0]

    fig = Figure(figsize=(15, 5.0), layout="constrained")
    ax_h, ax_f, ax_b = fig.subplots(1, 3, width_ratios=(1.1, 1.1, 1.0))

    edges = np.linspace(0.0, SATURATED, 34)
    sat_x, sat_w = 1.06, 0.07  # the saturated pairs get their own, wider bar right of the axis break
    tallest = 0.0
    for values, label, color, alpha in ((init, "at init", "tab:gray", 0.55), (after, "after training", "tab:blue", 0.6)):
        v = values[np.isfinite(values)]
        frac = float(np.mean(v > SATURATED)) if v.size else np.nan
        w = np.full(v.size, 1 / max(v.size, 1))
        heights, _, _ = ax_h.hist(v[v <= SATURATED], bins=edges, weights=w[v <= SATURATED], color=color, alpha=alpha,
                                  edgecolor=color, lw=0.6, label=f"{label}: {100 * frac:.1f}% of pairs above {SATURATED}")
        ax_h.bar(sat_x, frac, width=sat_w, color=color, alpha=alpha, edgecolor=color, lw=0.6)
        tallest = max(tallest, np.max(heights, initial=0.0), frac if np.isfinite(frac) else 0.0)
    ax_h.axvline(SATURATED, color="tab:red", ls="--", lw=1.3, label=f"saturation threshold {SATURATED}")
    ax_h.axvline(1 / n, color="black", ls=":", lw=1, label=f"uniform attention 1/n = {1 / n:.3g}")
    ax_h.set_yscale("log")
    if tallest > 0:
        ax_h.set_ylim(top=tallest * 12)  # room for the legend above the bars
    ax_h.set_xlim(0, sat_x + sat_w)
    ax_h.set_xticks([0, 0.2, 0.4, 0.6, 0.8, sat_x], ["0", "0.2", "0.4", "0.6", "0.8", f"> {SATURATED}"])
    ax_h.set_xlabel("largest attention weight of the query (per example and head)")
    ax_h.set_ylabel("fraction of (example, head) pairs (log)")
    ax_h.set_title(f"H = {H}, T = {T} (nearest its capacity), {_lr_text(ds, 'seed')},\n{k} seeds pooled; "
                   f"bins 0.03 wide, saturated pairs in one bar at right", fontsize=9)
    ax_h.legend(fontsize=7.5, loc="upper left")
    ax_h.grid(alpha=0.3)

    T_grid = ds_h["T"].values.astype(float)
    H_values = ds_h["H"].values
    for i, Hv in enumerate(H_values):
        sub = ds_h.sel(H=Hv)
        frac = _at_best_lr(sub, "saturated_fraction")
        frac = _selected(frac.to_dataset(name="f"), "f", ("T", "seed")).values.astype(float)
        f0 = _at_best_lr(sub, "saturated_fraction_init")
        f0 = _selected(f0.to_dataset(name="f"), "f", ("T", "seed")).values.astype(float)
        color = f"C{i % 10}"
        ax_f.fill_between(T_grid, np.nanmin(frac, 1), np.nanmax(frac, 1), color=color, alpha=0.18, lw=0)
        ax_f.plot(T_grid, np.nanmean(frac, 1), "o-", ms=3.5, color=color, lw=1.4, label=f"H = {Hv:g}")
        ax_f.plot(T_grid, np.nanmean(f0, 1), ls=":", color=color, lw=1)
        cap = float(_selected(sub, "capacity_mean", ()).values)
        if np.isfinite(cap):
            ax_f.plot(cap, np.interp(np.log(cap), np.log(T_grid), np.nanmean(frac, 1)), marker="*", ms=12, color=color,
                      zorder=5)
    ax_f.set_xscale("log", base=2)
    ax_f.set_xticks(T_grid, [f"{v:g}" for v in T_grid])
    ax_f.set_xticks([], minor=True)
    ax_f.set_ylim(-0.02, 1.02)
    ax_f.set_xlabel("training examples T (log scale)")
    ax_f.set_ylabel(f"fraction of (example, head) pairs with max weight > {SATURATED}")
    ax_f.set_title("saturated fraction vs T (seed mean, band min–max;\ndotted: at init; star: 99%-capacity)",
                   fontsize=9)
    ax_f.legend(fontsize=7.5, ncol=2, loc="upper left")
    ax_f.grid(alpha=0.3)

    ks = np.arange(H + 1)
    width = 0.4
    for values, label, color, shift in ((init, "at init", "tab:gray", -width / 2), (after, "after training", "tab:blue", width / 2)):
        count = np.sum(values > SATURATED, axis=-1)  # (seed, example): saturated heads per example
        share = np.array([np.mean(count == j) for j in ks])
        ax_b.bar(ks + shift, share, width=width, color=color, alpha=0.75, label=label)
    ax_b.plot(ks, construction_saturation(H, n, d_h), ls="none", marker="D", ms=6, mfc="white", mec="black",
              label=f"construction (T = {int(construction_bound(H, n, d_h))}, attention built)")
    ax_b.set_xticks(ks)
    ax_b.set_xlabel(f"saturated heads per example (of H = {H})")
    ax_b.set_ylabel("fraction of examples")
    ax_b.set_title(f"how the heads split the examples (H = {H}, T = {T})", fontsize=9)
    ax_b.legend(fontsize=7.5)
    ax_b.grid(alpha=0.3, axis="y")
    ctx = "random contexts" if _static(ds, "context") == "random" else "shared context"
    fig.suptitle(f"Softmax saturation after training (fact sheet 4.3; '{panel}' panel, {ctx}, n = {n}, d_h = {d_h})\n"
                 f"{_title(ds)}", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 4. The construction in float64 (fact sheet 3.2, A1-A2)
# --------------------------------------------------------------------------------------------------


def _theory():
    try:
        from ..theory import mha_capacity as theory
    except ImportError:
        return None
    return theory


def construction_data(configs=CONSTRUCTION_CONFIGS, d: int = 16, contexts=("fixed", "random"), seed: int = 0):
    """rank(Z) and max|Z^T v - y| of theory.construct over T for each (H, n, d_h) and context kind, or
    None if the theory module lacks construct / synthetic_data. Returns [(H, n, d_h, context, T (K,),
    rank (K,), residual (K,))]; a failed construction (assumption not met) gives NaN."""
    theory = _theory()
    construct = getattr(theory, "construct", None)
    synthetic = getattr(theory, "synthetic_data", None)
    if construct is None or synthetic is None:
        return None
    rows = []
    for i, (H, n, d_h) in enumerate(configs):
        b = int(construction_bound(H, n, d_h))
        top = max(1.6 * b + 2, 1.3 * (H * (n - 1) + 1))  # past the shared-context ceiling too (d_h < n)
        Ts = np.unique(np.r_[np.round(np.linspace(1, top, 11)).astype(int), b, b + 1])
        for j, ctx in enumerate(contexts):
            q, E, y = synthetic(int(Ts.max()), n, d, np.random.default_rng([seed, i, j]), ctx)
            ranks, resid = [], []
            for T in Ts:
                try:
                    out = construct(q[:T], E[:T], y[:T], H, d_h, np.random.default_rng([seed, i, j, int(T)]))
                    ranks.append(float(out["rank"]))
                    resid.append(float(out["residual"]))
                except (ValueError, np.linalg.LinAlgError, KeyError, TypeError):
                    ranks.append(np.nan)
                    resid.append(np.nan)
            rows.append((H, n, d_h, ctx, Ts, np.array(ranks), np.array(resid)))
    return rows


def construction_figure(path: Path, configs=CONSTRUCTION_CONFIGS, d: int = 16) -> Path | None:
    """Top: rank(Z) vs T with the identity, the construction bound and the ceilings H(n-1)+1 (shared
    context, any weights) and H d (rows of Z). Bottom: max|Z^T v - y| (log). None if the theory module
    cannot build the weights."""
    rows = construction_data(configs, d)
    if rows is None:
        return None
    fig = Figure(figsize=(max(3.6 * len(configs), 10), 6.6), layout="constrained")
    axes = fig.subplots(2, len(configs), squeeze=False, sharex="col")
    styles = {"fixed": ("tab:blue", "o", "shared context"), "random": ("tab:orange", "s", "random contexts"),
              "perm": ("tab:green", "^", "'perm' contexts")}
    hollow = {"random": 6.5, "perm": 6.5}  # drawn open and larger, so coinciding shared-context points stay visible
    for col, (H, n, d_h) in enumerate(configs):
        top, bottom = axes[0, col], axes[1, col]
        b = int(construction_bound(H, n, d_h))
        for Hc, nc, dhc, ctx, Ts, ranks, resid in rows:
            if (Hc, nc, dhc) != (H, n, d_h):
                continue
            color, marker, label = styles.get(ctx, ("C3", "x", ctx))
            style = {"marker": marker, "color": color, "lw": 1.2, "label": label, "ms": hollow.get(ctx, 4),
                     "mfc": "none" if ctx in hollow else color}
            top.plot(Ts, ranks, **style)
            bottom.plot(Ts, np.maximum(resid, 1e-17), **style)
        Tmax = top.get_xlim()[1]
        top.plot([0, Tmax], [0, Tmax], color="black", ls=":", lw=1, label="identity rank = T")
        top.axhline(H * (n - 1) + 1, color="tab:purple", ls="-.", lw=1, label="shared-context ceiling H(n − 1) + 1 (any weights)")
        if H * d <= 1.3 * top.get_ylim()[1]:
            top.axhline(H * d, color="tab:brown", ls="--", lw=1, label="rows of Z: H·d")
        for ax in (top, bottom):
            ax.axvline(b, color="black", lw=1.2, label="construction bound H(min(n, d_h) − 1) + 1")
            ax.grid(alpha=0.3)
        bottom.axhline(1e-8, color="tab:red", ls="--", lw=1, label="acceptance 1e-8 (A1)")
        bottom.set_yscale("log")
        bottom.set_ylim(1e-17, 10)
        top.set_title(f"H = {H}, n = {n}, d_h = {d_h}: bound {b}", fontsize=9)
        bottom.set_xlabel("examples T")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_ylabel("numerical rank of Z (rtol 1e-10)")
    axes[1, 0].set_ylabel("max |Zᵀv − y| (least squares)")
    _unique_legend(fig, axes.ravel(), ncol=4, fontsize=8)
    fig.suptitle(
        f"The constructive proof in float64 (fact sheet 3.2): built W_h, then v by least squares; d = {d}, "
        "labels U[0, 1]\nbeyond the bound the extra examples are placed by no head; with random contexts "
        "(or d_h < n) Z can still have full column rank",
        fontsize=10,
    )
    fig.savefig(path, dpi=DPI)
    return path


# --------------------------------------------------------------------------------------------------
# 5. Assumption checks (fact sheet 2): Kruskal-rank sampling test and per-example context rank
# --------------------------------------------------------------------------------------------------

ASSUMPTION_SAMPLES = 1000  # random k-subsets behind the verdicts at k = n and k = d (the official test: 5000)
DIGITS_IMAGES = 800  # of the 1797 scikit-learn digits (fact sheet 2: the paper used 2000 ImageNet images)
PROFILE_SAMPLES = 200  # random k-subsets per point of the pass-fraction curves
TOKEN_VOCAB = 12  # vocabulary of the token settings: mixed queries span exactly this many dimensions


def _tokens_without_pe(T: int, n: int, d: int, rng: np.random.Generator, vocab: int = TOKEN_VOCAB):
    """Control for Assumption 2: ``theory.token_pe_setting`` (mixed) without the positional encoding, so a
    context that repeats a token has two equal rows. Returns queries (T, d), contexts (T, n, d)."""
    table = rng.standard_normal((vocab, d))
    X = _theory().uniform_mix(table[rng.integers(0, vocab, (T, n + 1))])
    return X[:, 0], X[:, 1:]


def _all_distinct(k, vocab: int) -> np.ndarray:
    """P(k i.i.d. uniform tokens of a vocabulary are all distinct) = prod_{i<k} (1 - i / vocab)."""
    k = np.atleast_1d(k)
    return np.array([np.prod(1.0 - np.arange(int(j)) / vocab) for j in k])


def assumption_settings(seed: int = 0, T: int = 400, n: int = 8, d: int = 16):
    """The input settings of the assumption figure: [(name, kind, draw, expected)].

    kind: 'synthetic', 'tokens', 'digits' or 'control' (a setting built to fail one check). draw(rng)
    -> (queries (T, d), contexts (T, n, d)). expected(ks, queries, n) -> (pass fraction expected at each
    k, expected fraction of contexts with rank n, the expectation's source in words)."""
    th = _theory()
    V, d_tok = TOKEN_VOCAB, 2 * d

    def step(ceiling, words):
        return lambda ks, q, n_: ((np.asarray(ks) <= ceiling).astype(float), 1.0, words)

    def measured_ceiling(ks, q, n_):
        r = int(np.linalg.matrix_rank(q))
        return (np.asarray(ks) <= r).astype(float), 1.0, f"Kruskal rank ≤ rank of all queries = {r} (measured)"

    settings = [
        (f"synthetic U[0,1], {kind} context{'s' if kind != 'fixed' else ''} (d = {d}, n = {n})", "synthetic",
         lambda rng, kind=kind: th.synthetic_data(T, n, d, rng, kind)[:2],
         step(d, f"generic queries: Kruskal rank = d = {d}"))
        for kind in ("fixed", "random", "perm")
    ]
    settings[0] = (settings[0][0].replace("fixed context", "shared context"),) + settings[0][1:]
    settings.append((f"tokens + sinusoidal PE, mixed (vocab {V}, d = {d_tok}, n = {n})", "tokens",
                     lambda rng: th.token_pe_setting(T, n, d_tok, rng, vocab=V, mix=True),
                     step(V, f"e(t) = e_tok + mean: coefficients sum to 2, so rank ≤ vocab = {V}")))
    settings.append(("digits 2x2 patches + PE, one random attention layer (d = 64, n = 16)", "digits",
                     lambda rng: th.digits_setting(rng, patch=2, d=64, layer=True, max_images=DIGITS_IMAGES), measured_ceiling))
    settings.append((f"control: tokens + PE, not mixed (vocab {V}, d = {d_tok})", "control",
                     lambda rng: th.token_pe_setting(T, n, d_tok, rng, vocab=V, mix=False),
                     lambda ks, q, n_: (_all_distinct(ks, V), 1.0,
                                        f"queries take {V} values: P(k distinct tokens) = ∏(1 − i/{V})")))
    settings.append((f"control: tokens without PE, mixed (vocab {V}, d = {d_tok})", "control",
                     lambda rng: _tokens_without_pe(T, n, d_tok, rng),
                     lambda ks, q, n_: ((np.asarray(ks) <= V).astype(float), float(_all_distinct(n_, V)[0]),
                                        f"repeated token = repeated row: P(rank n) = P({n_} distinct tokens)")))
    settings.append(("control: digits embeddings, no layer (every CLS row equal)", "control",
                     lambda rng: th.digits_setting(rng, patch=2, d=64, layer=False, max_images=DIGITS_IMAGES),
                     step(1, "identical queries: Kruskal rank 1")))
    return settings


def assumption_data(seed: int = 0, samples: int = ASSUMPTION_SAMPLES, profile_samples: int = PROFILE_SAMPLES):
    """Measure every setting of ``assumption_settings``: the Kruskal pass fraction of the queries at each k
    (theory.kruskal_profile), the per-example context ranks and theory.assumption_report.

    Returns (rows, skipped): rows are dicts with name, kind, n, d, ks, profile, expected (pass fraction
    expected at each k), expected_full (expected fraction of contexts with rank n), source (of the
    expectation, in words), ranks (T,) and report; skipped lists the settings left out with the reason
    (the digits settings need scikit-learn). None if the theory module is missing."""
    th = _theory()
    if th is None or not hasattr(th, "kruskal_profile"):
        return None
    rows, skipped = [], []
    for i, (name, kind, draw, expected) in enumerate(assumption_settings(seed)):
        if "digits" in name and not th.sklearn_available():
            skipped.append(f"{name}: skipped, scikit-learn is not installed")
            continue
        rng = np.random.default_rng([seed, i])
        queries, contexts = draw(rng)
        T, d = queries.shape
        n = contexts.shape[-2]
        top = min(d + 2, T)
        ks = np.unique(np.r_[np.arange(1, min(top, 34) + 1), np.arange(36, top + 1, 2), n, min(d, T), min(d + 1, T)])
        exp_k, exp_full, source = expected(ks, queries, n)
        rows.append({
            "name": name, "kind": kind, "n": n, "d": d, "T": T, "ks": ks,
            "profile": th.kruskal_profile(queries, ks, profile_samples, rng),
            "expected": exp_k, "expected_full": exp_full, "source": source,
            "ranks": th.context_ranks(contexts), "report": th.assumption_report(queries, contexts, samples, rng),
        })
    return rows, skipped


ASSUMPTION_COLORS = {"synthetic": ("tab:blue", "tab:cyan", "navy"), "tokens": ("tab:green",), "digits": ("tab:purple",),
                     "control": ("tab:red", "tab:orange", "tab:brown")}


def assumption_figure(path: Path, seed: int = 0, data=None) -> Path | None:
    """Top left: Kruskal-rank pass fraction of the queries vs k, with the expectation as a thin step and
    the points k = n (Assumption 1) and k = d (General Position). Top right: per-example context rank
    (share of examples with rank(E(t)) = n vs < n, expected share as a diamond). Bottom: the verdicts of
    theory.assumption_report. None if the theory module is missing. ``data``: assumption_data's output."""
    data = assumption_data(seed) if data is None else data
    if data is None:
        return None
    rows, skipped = data
    th = _theory()
    threshold = getattr(th, "ASSUMPTION_THRESHOLD", 0.99)
    fig = Figure(figsize=(15, 9.8), layout="constrained")
    axd = fig.subplot_mosaic([["k", "k", "c"], ["t", "t", "t"]], height_ratios=(1.6, 0.85), width_ratios=(1, 1, 0.95))
    ax_k, ax_c, ax_t = axd["k"], axd["c"], axd["t"]
    used = {kind: 0 for kind in ASSUMPTION_COLORS}
    markers = ("o", "s", "^")
    for row in rows:
        palette = ASSUMPTION_COLORS[row["kind"]]
        j = used[row["kind"]]
        used[row["kind"]] += 1
        row["color"], row["marker"] = palette[j % len(palette)], markers[j % len(markers)]
        ls = ":" if row["kind"] == "control" else "-"
        ks, prof = row["ks"], row["profile"]
        ax_k.plot(ks, prof, ls=ls, lw=1.6, color=row["color"], marker=row["marker"], ms=3.5, mfc="none", label=row["name"])
        ax_k.step(ks, row["expected"], where="mid", color=row["color"], lw=4, alpha=0.2)
        for k, mk in ((row["n"], "o"), (row["d"], "s")):
            if k in ks:
                ax_k.plot(k, prof[list(ks).index(k)], ls="none", marker=mk, ms=10, mfc="none", mec=row["color"], mew=2)
    ax_k.axhline(threshold, color="black", ls="--", lw=1)
    ax_k.text(24, threshold - 0.01, f"assumption met at a pass fraction ≥ {threshold:g}", va="top", fontsize=8)
    ax_k.set_xlabel("subset size k (number of query vectors e(t) drawn at random)")
    ax_k.set_ylabel(f"fraction of random k-subsets of full rank k\n({PROFILE_SAMPLES} subsets per point)")
    ax_k.set_ylim(-0.03, 1.08)
    ax_k.set_xlim(0, max(int(r["ks"].max()) for r in rows) + 1 if rows else 10)
    ax_k.grid(alpha=0.3)
    handles, labels = ax_k.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.5", lw=4, alpha=0.3),
                Line2D([], [], ls="none", marker="o", ms=10, mfc="none", mec="0.3", mew=2),
                Line2D([], [], ls="none", marker="s", ms=10, mfc="none", mec="0.3", mew=2)]
    labels += ["expected (thin band, same color; see the table)", "k = n: Assumption 1 needs ≥ threshold here",
               "k = d: General Position needs ≥ threshold here"]
    ax_k.legend(handles, labels, fontsize=7.5, loc="center right", framealpha=0.92)
    ax_k.set_title("Assumption 1 vs General Position: Kruskal-rank sampling test on the query vectors", fontsize=10)

    y = np.arange(len(rows))[::-1]
    full = np.array([np.mean(r["ranks"] == r["n"]) for r in rows])
    ax_c.barh(y, full, color="tab:green", alpha=0.75, label="rank E(t) = n")
    ax_c.barh(y, 1 - full, left=full, color="tab:red", alpha=0.75, label="rank E(t) < n")
    ax_c.plot([r["expected_full"] for r in rows], y, ls="none", marker="D", ms=7, mfc="white", mec="black",
              label="expected share with rank n")
    for yi, r in zip(y, rows):
        ax_c.text(1.02, yi, f"min {r['ranks'].min()} / n = {r['n']}", va="center", fontsize=7.5)
    ax_c.set_yticks(y, [f"{r['name'].split(' (')[0]}" for r in rows], fontsize=7)
    ax_c.set_xlim(0, 1.45)
    ax_c.set_ylim(-2.3, len(rows) - 0.4)  # room for the legend below the bars
    ax_c.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax_c.set_xlabel("share of examples (T per setting: see the table)")
    ax_c.set_title("Assumption 2: per-example context rank vs n", fontsize=10)
    ax_c.legend(fontsize=7.5, loc="lower center", ncol=2, framealpha=0.92)
    ax_c.grid(alpha=0.3, axis="x")

    ax_t.axis("off")
    header = ["setting", "T", "n", "d", "pass at k = n", "pass at k = d", "rank of all\nqueries",
              "min rank E(t)", "Assumption 1", "Assumption 2", "General\nPosition", "expected curve"]
    ok = lambda v: "holds" if v else "fails"  # noqa: E731
    cells, colors = [], []
    for r in rows:
        rep = r["report"]
        cells.append([r["name"], r["T"], r["n"], r["d"], f"{rep['kruskal_n']:.3f}", f"{rep['kruskal_d']:.3f}",
                      rep["query_rank"], rep["context_rank_min"], ok(rep["assumption1"]), ok(rep["assumption2"]),
                      ok(rep["general_position"]), r["source"]])
        verdict = lambda v: "#c8e6c9" if v else "#ffcdd2"  # noqa: E731
        colors.append(["white"] * 8 + [verdict(rep["assumption1"]), verdict(rep["assumption2"]),
                                       verdict(rep["general_position"]), "white"])
    if cells:
        table = ax_t.table(cellText=cells, colLabels=header, cellColours=colors, loc="upper center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.auto_set_column_width(list(range(len(header))))
        table.scale(1, 1.45)
        for (i, j), cell in table.get_celld().items():
            if j in (0, len(header) - 1) and i > 0:
                cell.set_text_props(ha="left")
    note = (f"Verdicts from {ASSUMPTION_SAMPLES} random k-subsets at k = n and k = d; an assumption counts as met at a "
            f"pass fraction ≥ {threshold:g}. Controls are built to fail one check (the checks can fail).")
    if skipped:
        note += "\n" + "; ".join(skipped)
    ax_t.set_title(note, fontsize=8.5, loc="left")
    fig.suptitle("Assumptions of Theorem 1 (fact sheet 2): General Position (Kruskal rank = d) fails on token and image "
                 "representations,\nwhile Assumption 1 (query Kruskal rank ≥ n) and Assumption 2 (every context of rank n) "
                 "hold; sinusoidal positions are what keep the contexts at rank n", fontsize=11)
    fig.savefig(path, dpi=DPI)
    return path
