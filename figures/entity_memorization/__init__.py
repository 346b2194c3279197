"""Figures of the `entity-memorization` study (Zhou, Xiang, Chen, Su, arXiv 2308.15727).

``make_all(evidence, out_dir)`` reads {panel: Dataset} with panels 'main', 'dedup', 'dp' and 'scale',
each summarized by ``rote.sims.studies.entity_memorization.analysis.summarize`` (any may be missing):
  leakage.png      exact match vs leakage level per r, unique and ambiguous keys, both templates
  inference.png    trained minus never-trained: random phone vs derivable e-mail, by r
  extraction.png   soft prompt vs hand-written (held out) and verbatim prefix vs prompt tokens
  mitigation.png   EM(l3) by r: plain, deduplicated, DP-SGD
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from .._common import save


def _m(da):
    return da.mean("seed") if "seed" in da.dims else da


def leakage(ds, path):
    fig = Figure(figsize=(10, 6.5))
    axes = fig.subplots(2, 2, sharey=True)
    for i, key in enumerate(("unique", "ambiguous")):
        for j, tpl in enumerate(("training", "held-out")):
            ax = axes[j, i]
            em = _m(ds["em_r"].sel(key=key, template=tpl))
            for r in em["r"].values:
                ax.plot(em["leak"].values, em.sel(r=r).values, "o-", label=f"r = {int(r)}")
            if key == "ambiguous" and "ambiguous_ceiling" in ds:
                ceil = _m(ds["ambiguous_ceiling"])
                ax.plot(ceil["leak"].values, ceil.values, "k--", lw=1, label="ceiling mean 1/matches (theory)")
            ax.axhline(1e-5, color="gray", lw=0.6, ls=":", label="chance 1e-5 (theory)")
            ax.set_title(f"{key} keys, {tpl} template")
            ax.set_xticks([1, 2, 3], ["name", "+ city", "+ employer"])
            ax.set_ylim(-0.03, 1.03)
    axes[0, 0].set_ylabel("phone exact match")
    axes[1, 0].set_ylabel("phone exact match")
    axes[0, 1].legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("leaked entities (leakage level)")
    fig.suptitle("Entity extraction vs leaked entities (greedy, 5-digit phone)")
    return save(fig, path)


def inference(ds, path):
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for var, label in (("em_r", "random phone (memorized)"), ("email_em_r", "derivable e-mail (inferred)")):
        da = ds[var].sel(template="training") if "template" in ds[var].dims else ds[var]
        v = _m(da.sel(leak=3)).mean("key")
        ax.plot(v["r"].values, v.values - v.sel(r=0).values, "o-", label=label)
    ax.axhline(0, color="gray", lw=0.8, label="no memorization (theory: pure inference)")
    ax.axhline(0.05, color="C1", lw=0.8, ls="--", label="EN3 e-mail bound 0.05")
    ax.axhline(0.5, color="C0", lw=0.8, ls="--", label="EN3 phone floor 0.5 (r >= 2)")
    ax.set_xlabel("repetitions r")
    ax.set_ylabel("EM(trained at r) - EM(never trained)")
    ax.set_title("Memorization vs inference control (full leak)")
    ax.legend(fontsize=7)
    return save(fig, path)


def extraction(ds, path):
    fig = Figure(figsize=(10, 4))
    a, b = fig.subplots(1, 2)
    for var, label in (("soft_em_r", "soft prompt (EME)"), ("hard_em_r", "hand-written")):
        for tpl, ls in (("held-out", "-"), ("training", ":")):
            v = _m(ds[var].sel(template=tpl, leak=3)).mean("key")
            a.plot(v["r"].values, v.values, ls, marker="o", label=f"{label}, {tpl}")
    a.set_xlabel("repetitions r")
    a.set_ylabel("exact match, persons the attacker did not know")
    a.legend(fontsize=7)
    a.set_title("Soft prompt vs hand-written prompt (l = 3)")
    pos = ds["r"] >= 1
    vr = _m(ds["verbatim_r"]).where(pos).mean("r")
    b.plot(_m(ds["verbatim_k"]).values, vr.values, "s-", label="verbatim training prefix")
    for key, mk in (("unique", "o"), ("ambiguous", "^")):
        em = _m(ds["em_r"].sel(template="training", key=key)).where(pos).mean("r")
        b.plot(_m(ds["tokens_r"].sel(template="training", key=key)).values, em.values, mk + "--", label=f"entity query, {key} key")
    b.set_xlabel("prompt tokens")
    b.set_ylabel("phone exact match (r >= 1)")
    b.legend(fontsize=7)
    b.set_title("Entity vs verbatim prompts")
    return save(fig, path)


def mitigation(main, dedup, dp, path):
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for ds, label in ((main, "plain"), (dedup, "dedup (r capped at 1)")):
        if ds is not None:
            v = _m(ds["em_r"].sel(template="training", leak=3)).mean("key")
            ax.plot(v["r"].values, v.values, "o-", label=label)
    if dp is not None:
        v = _m(dp["em_r"].sel(template="training", leak=3)).mean("key")
        for s in np.atleast_1d(v["sigma"].values) if "sigma" in v.dims else []:
            ax.plot(v["r"].values, v.sel(sigma=s).values, "s--", label=f"DP-SGD sigma {s:g}")
    if main is not None:
        top = _m(main["em_r"].sel(template="training", leak=3)).mean("key").isel(r=-1)
        ax.axhline(0.5 * float(top), color="gray", ls=":", label="EN8 target: half of plain at r_max")
    ax.set_xlabel("repetitions r")
    ax.set_ylabel("phone exact match (l = 3)")
    ax.set_title("Mitigations")
    ax.legend()
    return save(fig, path)


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "em_r" in v}
    main = ev.get("main")
    paths = []
    if main is not None:
        paths += [leakage(main, out_dir / "leakage.png"), inference(main, out_dir / "inference.png"),
                  extraction(main, out_dir / "extraction.png")]
        paths.append(mitigation(main, ev.get("dedup"), ev.get("dp"), out_dir / "mitigation.png"))
    return paths
