"""Figures of the `t2i-duplication` study (word-level duplication in a small text-to-image diffusion model).

Naseh et al. (arXiv 2312.03692: trigger words and shared templates); Somepalli et al. (arXiv 2212.03860,
Fig. 1: generations beside their nearest training image; arXiv 2305.20086: duplication and mitigations);
Wen et al. (arXiv 2407.21720, Fig. 2: detection ROC, token attribution). ``make_all(evidence, out_dir)`` reads
{panel: Dataset} with panels 'main', 'insert' and 'noise' (any may be missing) and writes:
  samples.png      prompt | samples | nearest training image, for one prompt of each kind
  replication.png  RR vs d per experiment, with the ideal memorizer (RR = 1) and the generalizing model (0);
                   E4: template and member rates vs M with the memorizer's lines
  detector.png     ROC of the Wen et al. magnitude (memorized vs generic prompts) and blame per token
  guidance.png     E1 RR vs guidance w per d; E1 RR along training (steps sweep)
  mitigation.png   E1 RR vs d with and without each mitigation, and attribute accuracy
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.t2i_duplication.analysis import MEMORIZED_RR, by_level, label, params_of
from ...sims.studies.t2i_duplication.data import layout
from .._common import save

KIND_LABEL = {"E1": "E1 image + caption (ID prompt)", "E2": "E2 image only (its training caption)", "E3_alone": "E3 trigger alone",
              "E3_caption": "E3 trigger in a new caption", "E5": "E5 shared word vq{k}"}


def _rgb(x):
    return np.clip((np.asarray(x) + 1) / 2, 0, 1)


def _seed_stats(c: xr.DataArray):
    dims = [d for d in c.dims if d != "d"]
    mean = c.mean(dims).values
    sd = c.std(dims).values if dims else np.zeros_like(mean)
    return c["d"].values, mean, sd


def samples_figure(ds: xr.Dataset, path: Path) -> Path:
    lay = layout(params_of(ds))
    first = ds.isel(seed=0) if "seed" in ds.dims else ds
    kinds = np.asarray(ds["prompt_kind"].values)
    d = np.asarray(ds["prompt_d"].values)
    rows = []
    for kind in ("E1", "E1", "E2", "E3_alone", "E3_caption", "E4", "E5", "generic", "untrained"):
        idx = np.flatnonzero(kinds == kind)
        if idx.size:
            pick = idx[np.argmax(d[idx])] if kind != "E1" or not rows else idx[np.argmin(d[idx])]
            rows.append((kind, pick))
    S = first.sizes["sample"]
    fig = Figure(figsize=(2.2 + 0.9 * (S + 1), 0.95 * len(rows) + 0.8), layout="constrained")
    axes = fig.subplots(len(rows), S + 2, squeeze=False, gridspec_kw={"width_ratios": [3.2] + [1] * (S + 1)})
    for r, (kind, i) in enumerate(rows):
        text = lay.vocab.decode(first["prompt_tokens"].values[i].astype(int))
        rr = float(first["rr"].values[i]) if kind not in ("E4", "generic", "untrained") else float(first["leak"].values[i])
        axes[r, 0].text(0, 0.5, f"{kind} (d/M = {d[i]})\n\"{text}\"\n{'RR' if kind not in ('E4', 'generic', 'untrained') else 'leak'} "
                                f"{rr:.2f}", fontsize=7, va="center")
        for s in range(S):
            axes[r, 1 + s].imshow(_rgb(first["grid_samples"].values[i, s]))
        axes[r, -1].imshow(_rgb(first["grid_nearest"].values[i]))
        for ax in axes[r]:
            ax.axis("off")
    axes[0, 1].set_title("samples (seed 0)", fontsize=8, loc="left")
    axes[0, -1].set_title("nearest train\n(of sample 1)", fontsize=8)
    fig.suptitle("Samples beside their nearest training image (mean-centred pixel cosine)", fontsize=10)
    return save(fig, path)


def replication_figure(ds: xr.Dataset, path: Path) -> Path:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    for kind, lab in KIND_LABEL.items():
        d, mean, sd = _seed_stats(by_level(ds, "rr", kind))
        ax.errorbar(d, mean, yerr=sd, marker="o", capsize=3, label=lab)
    d = by_level(ds, "rr", "E1")["d"].values
    ax.plot(d, np.ones_like(d, float), "k--", label="ideal memorizer (RR = 1)")
    ax.plot(d, np.zeros_like(d, float), "k:", label="generalizing model (RR = 0)")
    ax.set(xscale="log", xlabel="duplication level d (copies in training)", ylabel="replication rate RR (fraction of samples)",
           title=f"Replication vs duplication (tau = {float(ds['tau'].mean()):.2f})", ylim=(-0.05, 1.05))
    ax.set_xticks(d, [str(int(x)) for x in d])
    ax.legend(fontsize=7)
    m, t_mean, t_sd = _seed_stats(by_level(ds, "template", "E4"))
    _, m_mean, m_sd = _seed_stats(by_level(ds, "member", "E4"))
    bx.errorbar(m, t_mean, yerr=t_sd, marker="s", capsize=3, label="template (frame + logo) replicated")
    bx.errorbar(m, m_mean, yerr=m_sd, marker="o", capsize=3, label="full image of one member replicated")
    bx.plot(m, np.ones_like(m, float), "k--", label="ideal memorizer: template and a member (1)")
    bx.plot(m, 1.0 / m, "k-.", label="ideal memorizer: a given member (1/M)")
    bx.plot(m, np.zeros_like(m, float), "k:", label="generalizing: member 0 (template 1)")
    bx.set(xscale="log", xlabel="template group size M (images sharing the caption template)", ylabel="fraction of samples",
           title="E4 shared template (type B)", ylim=(-0.05, 1.05))
    bx.set_xticks(m, [str(int(x)) for x in m])
    bx.legend(fontsize=7)
    return save(fig, path)


def roc_curve(pos, neg):
    thr = np.unique(np.concatenate([pos, neg]))[::-1]
    tpr = np.array([0.0] + [(pos >= t).mean() for t in thr])
    fpr = np.array([0.0] + [(neg >= t).mean() for t in thr])
    return fpr, tpr


def detector_figure(ds: xr.Dataset, path: Path) -> Path:
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    kinds = ds["prompt_kind"].values
    rr, mag = ds["rr"].values.reshape(-1, kinds.size), ds["magnitude"].values.reshape(-1, kinds.size)
    pos = mag[(rr >= MEMORIZED_RR) & (kinds != "generic")[None]]
    neg = mag[np.broadcast_to(kinds == "generic", mag.shape)]
    if pos.size and neg.size:
        fpr, tpr = roc_curve(pos, neg)
        ax.plot(fpr, tpr, marker=".", label=f"magnitude over the first DDIM steps ({pos.size} memorized, {neg.size} generic prompts)")
    ax.plot([0, 1], [0, 1], "k:", label="chance")
    ax.set(xlabel="false positive rate (generic prompts)", ylabel="true positive rate (prompts with RR >= 0.5)",
           title="Wen et al. detector, AUC " + (f"{np.nanmean(a):.3f}" if np.isfinite(a := ds["auc"].values).any() else "n/a"))
    ax.legend(fontsize=7, loc="lower right")
    first = ds.isel(seed=0) if "seed" in ds.dims else ds
    b = first["blame"].values
    td = first["target_d"].values
    order = np.argsort(-td)[:4]
    lay = layout(params_of(ds))
    e3 = np.flatnonzero(kinds == "E3_caption")
    width = 0.8 / len(order)
    for j, t in enumerate(order):
        row = b[t] / max(b[t].max(), 1e-12)
        ax_x = np.arange(9) + j * width
        bx.bar(ax_x, row[:9], width, label=f"d = {td[t]}: \"{lay.vocab.decode(first['prompt_tokens'].values[e3[t]].astype(int))}\"")
    bx.set_xticks(np.arange(9) + 0.4, ["a", "size", "colour", "shape", "row", "col", "on", "bg", "trigger"], fontsize=7)
    bx.set(ylabel="blame |<d magnitude / d e_i, e_i>| (relative to the prompt's max)", title="Per-token blame, E3 prompts (seed 0)")
    bx.legend(fontsize=6)
    return save(fig, path)


def guidance_figure(ds: xr.Dataset, path: Path) -> Path:
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    g = ds["rr_guidance"].isel(gprompt=np.flatnonzero(ds["gprompt_kind"].values == "E1"))
    c = g.groupby(g["gprompt_d"].rename("d")).mean("gprompt")
    c = c.mean([x for x in c.dims if x not in ("w", "d")])
    for dv in c["d"].values:
        ax.plot(c["w"].values, c.sel(d=dv).values, marker="o", label=f"d = {dv}")
    ax.axhline(1.0, color="k", ls="--", label="ideal memorizer")
    ax.axhline(0.0, color="k", ls=":", label="generalizing model")
    ax.set(xlabel="guidance scale w", ylabel="E1 replication rate RR", title="Replication vs classifier-free guidance", ylim=(-0.05, 1.05))
    ax.legend(fontsize=7)
    s = ds["rr_steps"]
    s = s.assign_coords(d=("target", ds["target_d"].values)).groupby("d").mean("target")
    s = s.mean([x for x in s.dims if x not in ("step", "d")])
    for dv in s["d"].values:
        bx.plot(s["step"].values, s.sel(d=dv).values, marker="o", label=f"d = {dv}")
    bx.set(xlabel="training step", ylabel="E1 replication rate RR (EMA weights)", title="Steps sweep: replication along training", ylim=(-0.05, 1.05))
    bx.legend(fontsize=7)
    return save(fig, path)


def mitigation_figure(evidence: dict, path: Path) -> Path:
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    names, accs = [], []
    for name, lab in (("main", "no mitigation"), ("insert", "random word insertion"), ("noise", "text-embedding noise")):
        if name not in evidence:
            continue
        ds = evidence[name]
        d, mean, sd = _seed_stats(by_level(ds, "rr", "E1"))
        ax.errorbar(d, mean, yerr=sd, marker="o", capsize=3, label=lab)
        names.append(lab)
        accs.append(float(ds["accuracy"].mean()))
    ax.set(xscale="log", xlabel="duplication level d", ylabel="E1 replication rate RR", title="Training-time mitigations", ylim=(-0.05, 1.05))
    ax.axhline(1.0, color="k", ls="--", label="ideal memorizer")
    ax.axhline(0.0, color="k", ls=":", label="generalizing model")
    ax.legend(fontsize=7)
    bx.bar(range(len(names)), accs)
    bx.set_xticks(range(len(names)), names, fontsize=8)
    bx.set(ylabel="attribute accuracy on generic prompts (colour, row, column)", title="Cost: attribute accuracy", ylim=(0, 1))
    return save(fig, path)


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: (v if "prompt_kind" in v.coords else label(v)) for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "rr" in v}
    paths = []
    main = ev.get("main")
    if main is not None:
        paths.append(samples_figure(main, out_dir / "samples.png"))
        paths.append(replication_figure(main, out_dir / "replication.png"))
        paths.append(detector_figure(main, out_dir / "detector.png"))
        paths.append(guidance_figure(main, out_dir / "guidance.png"))
        paths.append(mitigation_figure(ev, out_dir / "mitigation.png"))
    return paths
