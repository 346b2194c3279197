"""Figures of the `t2i-taxonomy` study (element-level ME / MI / MU memorization in a small text-to-image diffusion model).

Naseh, Roh, Houmansadr (arXiv 2312.07550): explicit intended (ME), implicit intended (MI) and unintended (MU)
memorization; the ideal memorizer and ideal generalizer (``rote.theory.t2i_taxonomy``) drawn beside every rate.
``make_all(evidence, out_dir)`` reads {panel: Dataset} with panels 'main', 'insert', 'noise' (any may be missing):
  rates.png          the rate table per prompt-class row (R_ME, R_MI, R_MU, whole-image replication): seed mean with
                     a bootstrap 95 % interval over seeds, the memorizer's and the generalizer's values as ticks
  grid_<class>.png   per prompt class: prompt | samples | nearest training image | the detected elements of each
                     sample with their ME / MI / MA / MU label
  guidance.png       R_ME and R_MU vs guidance w per prompt class; with and without each mitigation
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.t2i_taxonomy.analysis import TYPES, events, group_mean, groups, label, params_of, rate_table
from ...sims.studies.t2i_taxonomy.data import CLASSES, layout
from ...theory import t2i_taxonomy as tt
from .._common import save

COLUMNS = (("R_ME", "ME"), ("R_MI", "MI"), ("R_MU", "MU"), ("replication", None))
MAIN_W = 3.0


def _rgb(x):
    return np.clip((np.asarray(x) + 1) / 2, 0, 1)


def _ready(ds):
    return events(label(ds.copy()))


def anchors(ds: xr.Dataset, sel) -> dict:
    """{'memorizer' | 'generalizer': {column: value}} averaged over the selected prompts (theory/t2i_taxonomy.py)."""
    p = params_of(ds)
    cls, n, d, q, s = (np.asarray(ds[k].values) for k in ("prompt_class", "prompt_n", "prompt_d", "prompt_q", "prompt_s"))
    out = {"memorizer": {c: [] for c, _ in COLUMNS}, "generalizer": {c: [] for c, _ in COLUMNS}}
    for i in np.flatnonzero(sel):
        if cls[i] == "glyph":
            r = tt.glyph(n[i], d[i])
        elif cls[i] == "scene":
            r = tt.scene(q[i], s[i], p.scene_images, p.rho)
        elif cls[i] == "dup":
            r = tt.duplicate(d[i])
        else:
            r = tt.control()
        for who in out:
            for col, t in COLUMNS:
                v = r[who][t] if t else (1.0 if who == "memorizer" else 0.0)
                if col == "R_MU" and cls[i] == "scene" and who == "memorizer":
                    v = r[who]["MU"]
                out[who][col].append(float(np.asarray(v)))
    return {who: {c: float(np.mean(v)) for c, v in cols.items()} for who, cols in out.items()}


def rates_figure(ds: xr.Dataset, path: Path, w: float = MAIN_W) -> Path:
    table = rate_table(ds, w)
    rows = groups(ds)
    fig = Figure(figsize=(13, 0.42 * len(rows) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(COLUMNS), sharey=True)
    y = np.arange(len(rows))[::-1]
    for ax, (col, _) in zip(axes, COLUMNS):
        for yi, (name, sel) in zip(y, rows):
            m, lo, hi = table[name][col]
            a = anchors(ds, sel)
            ax.plot([a["memorizer"][col]] * 2, [yi - 0.35, yi + 0.35], color="C3", lw=2, label="ideal memorizer")
            ax.plot([a["generalizer"][col]] * 2, [yi - 0.35, yi + 0.35], color="C2", lw=2, ls="--", label="ideal generalizer")
            if np.isfinite(m):
                ax.errorbar([m], [yi], xerr=[[m - lo], [hi - m]], fmt="o", color="k", capsize=3, label="trained model (seed mean, 95 % CI)")
        ax.set_title(col if col != "replication" else "whole-image replication\n(own training image)", fontsize=9)
        ax.set_xlabel("events per sample" if col != "replication" else "fraction of samples")
        ax.grid(alpha=0.3)
    axes[0].set_yticks(y, [name for name, _ in rows], fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    keep = dict(zip(labels, handles))
    fig.legend(keep.values(), keep.keys(), loc="outside lower center", ncol=3, fontsize=8)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(f"ME / MI / MU rates per prompt class at guidance w = {w:g} ({seeds} seeds; bootstrap 95 % intervals over seeds)", fontsize=10)
    return save(fig, path)


def describe(ds, w, prompt, sample) -> str:
    """The detected elements of one sample with their type label, and the whole-image match."""
    first = ds.isel(seed=0) if "seed" in ds.dims else ds
    det = first["det"].sel(w=w).isel(prompt=prompt, sample=sample).values > 0.5
    code = first["type_code"].isel(prompt=prompt).values
    names = ds["element_name"].values
    parts = [f"{names[e]}:{TYPES[int(code[e])]}" for e in np.flatnonzero(det)]
    if float(first["match"].sel(w=w).isel(prompt=prompt, sample=sample)) > 0.5:
        parts.append("image:MU")
    return "\n".join(parts) if parts else "none"


def grid_figure(ds: xr.Dataset, cls: str, path: Path, w: float = MAIN_W, rows: int = 6) -> Path:
    lay = layout(params_of(ds))
    first = ds.isel(seed=0) if "seed" in ds.dims else ds
    mine = np.flatnonzero(np.asarray(ds["prompt_class"].values) == cls)
    group = np.asarray(ds["prompt_group"].values)[mine]
    firsts = mine[np.unique(group, return_index=True)[1]]  # one prompt per condition first, then the others
    idx = np.concatenate([np.sort(firsts), [i for i in mine if i not in firsts]])[:rows].astype(int)
    S = first.sizes["gsample"]
    fig = Figure(figsize=(2.6 + 1.15 * (S + 1), 1.25 * len(idx) + 0.9), layout="constrained")
    axes = fig.subplots(len(idx), S + 2, squeeze=False, gridspec_kw={"width_ratios": [2.4] + [1] * (S + 1)})
    for r, i in enumerate(idx):
        text = lay.vocab.decode(first["prompt_tokens"].values[i].astype(int))
        axes[r, 0].text(0, 0.5, f"{ds['prompt_group'].values[i]}\n\"{text}\"", fontsize=6.5, va="center", wrap=True)
        for s in range(S):
            axes[r, 1 + s].imshow(_rgb(first["grid_samples"].sel(w=w).values[i, s]))
            axes[r, 1 + s].set_title(describe(ds, w, i, s), fontsize=5.5)
        axes[r, -1].imshow(_rgb(first["grid_nearest"].sel(w=w).values[i, 0]))
        axes[r, -1].set_title(f"cos {float(first['cos'].sel(w=w).values[i, 0]):.2f}", fontsize=6)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].axis("off")
    axes[0, 1].set_xlabel("")
    fig.suptitle(f"{cls} prompts at w = {w:g} (seed 0): prompt | samples (detected element:label above each) | nearest training "
                 "image of sample 1", fontsize=8)
    return save(fig, path)


def guidance_figure(ev: dict, path: Path) -> Path:
    ds = ev["main"]
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    cls = np.asarray(ds["prompt_class"].values)
    ws = ds["w"].values
    for c, colour in zip(CLASSES, ("C0", "C1", "C2", "C7")):
        sel = cls == c
        me = [float(group_mean(ds, "n_me", w, sel).mean()) for w in ws]
        mu = [float(group_mean(ds, "n_mu", w, sel).mean()) for w in ws]
        if c == "glyph":
            ax.plot(ws, me, "o-", color=colour, label=f"R_ME, {c}")
        ax.plot(ws, mu, "s--", color=colour, label=f"R_MU, {c}")
    ax.axhline(1.0, color="C3", lw=1, label="ideal memorizer: R_ME = R_MU(image) = 1")
    ax.axhline(0.0, color="C2", lw=1, ls=":", label="ideal generalizer: R_MU = 0")
    ax.set(xlabel="guidance w", ylabel="events per sample", title="Guidance: explicit (ME) vs unintended (MU) events")
    ax.legend(fontsize=7)
    labels, me, mu = [], [], []
    for name in ("main", "insert", "noise"):
        if name in ev:
            d = ev[name]
            if name != "main" and "seed" in d.dims and "seed" in ds.dims:
                pass
            c2 = np.asarray(d["prompt_class"].values)
            labels.append({"main": "no mitigation", "insert": "word insertion p=0.3", "noise": "embedding noise 0.1"}[name])
            me.append(float(group_mean(d, "n_me", MAIN_W, c2 == "glyph").mean()))
            mu.append(float(group_mean(d, "n_mu", MAIN_W, np.isin(c2, ("glyph", "scene", "dup"))).mean()))
    x = np.arange(len(labels))
    bx.bar(x - 0.2, me, 0.4, label="R_ME (glyph prompts)")
    bx.bar(x + 0.2, mu, 0.4, label="R_MU (glyph, scene, duplicate prompts)")
    bx.set_xticks(x, labels, fontsize=8)
    bx.set(ylabel="events per sample", title=f"Mitigations at w = {MAIN_W:g} (our hypothesis T6)")
    bx.legend(fontsize=7)
    return save(fig, path)


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: _ready(v) for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "det" in v}
    paths = []
    main = ev.get("main")
    if main is not None:
        w = MAIN_W if MAIN_W in main["w"].values else float(main["w"].values[len(main["w"]) // 2])
        paths.append(rates_figure(main, out_dir / "rates.png", w))
        for c in CLASSES:
            paths.append(grid_figure(main, c, out_dir / f"grid_{c}.png", w))
        paths.append(guidance_figure(ev, out_dir / "guidance.png"))
    return paths
