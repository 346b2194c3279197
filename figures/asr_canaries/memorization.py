"""TER per repetition group and the quality-memorization trade-off (arXiv 2310.11739, Sec. 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._common import save, scalar_param


def _mean(da):
    return da.mean("seed") if "seed" in da.dims else da


def _sem(da):
    """Standard error over seeds (zero with one seed or none), without the seed dim."""
    if "seed" not in da.dims:
        return 0 * da
    return da.std("seed") / np.sqrt(da.sizes["seed"]) if da.sizes["seed"] > 1 else 0 * da.mean("seed")


def curves(ev) -> list[tuple[str, object, object]]:
    """(label, ter_r (seed, r) or (r,), clean_ter) of every run family in the evidence, baseline first."""
    out = []
    if "baseline" in ev:
        ds = ev["baseline"]
        trained = ds.sel(insert_canaries=True) if "insert_canaries" in ds.dims else ds
        out.append((f"baseline, {scalar_param(ds, 'epochs')} ep", trained["ter_r"], trained["clean_ter"]))
    if "budget" in ev:
        ds = ev["budget"]
        out.append((f"baseline, {scalar_param(ds, 'epochs')} ep", ds["ter_r"], ds["clean_ter"]))
    if "pec" in ev:
        ds = ev["pec"]
        for c in ds["clip"].values:
            out.append((f"PEC C={c:g}, {scalar_param(ds, 'epochs')} ep", ds["ter_r"].sel(clip=c), ds["clean_ter"].sel(clip=c)))
    if "pcc" in ev:
        ds = ev["pcc"]
        B, C = scalar_param(ds, "batch_size"), scalar_param(ds, "clip")
        for m in ds["cores"].values:
            out.append((f"PCC C={C:g}, M={int(m)} (b={B // int(m)}), {scalar_param(ds, 'epochs')} ep", ds["ter_r"].sel(cores=m),
                        ds["clean_ter"].sel(cores=m)))
    return out


def ter_figure(ev, path: Path) -> Path:
    fig = Figure(figsize=(8.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    for i, (label, ter, _) in enumerate(curves(ev)):
        m, e = _mean(ter), _sem(ter)
        r = m["r"].values
        x = np.arange(len(r))
        line = ax.errorbar(x[1:], m.values[1:], yerr=np.asarray(e.values)[1:], marker="o", capsize=2, label=label)
        ax.axhline(float(m.values[0]), color=line[0].get_color(), ls=":", lw=1)
    if "baseline" in ev and "insert_canaries" in ev["baseline"].dims:
        ctrl = ev["baseline"].sel(insert_canaries=False)
        ax.axhline(float(_mean(ctrl["canary_ter"].mean("canary"))), color="k", ls="--", lw=1.2, label="no-canary control (all held out)")
    ax.plot([], [], color="gray", ls=":", label="held-out K_0 of the same run (prediction without memorization)")
    ax.set_xticks(np.arange(len(r))[1:], [str(int(v)) for v in r[1:]])
    ax.set_xlabel("repetitions r of a canary in the training set")
    ax.set_ylabel("token error rate of the group K_r (greedy CTC)")
    ax.set_ylim(-0.03, 1.1)
    ax.set_title("Sped-up canaries: TER per repetition group (mean ± s.e. over seeds)")
    ax.legend(fontsize=7, loc="lower left")
    return save(fig, path)


def tradeoff_figure(ev, path: Path) -> Path:
    fig = Figure(figsize=(7, 4.8), layout="constrained")
    ax = fig.add_subplot()
    for label, ter, clean in curves(ev):
        m = _mean(ter)
        mem = float((m.sel(r=0) - m.sel(r=m["r"] > 0)).mean())
        ax.errorbar(float(_mean(clean)), mem, xerr=float(_sem(clean)), marker="o", ls="none", capsize=2, label=label)
    ax.axhline(0.0, color="k", lw=1, ls="--", label="no memorization (prediction under full protection)")
    ax.set_xlabel("clean test TER (greedy CTC)")
    ax.set_ylabel("mean memorization TER(K_0) - TER(K_r), r > 0")
    ax.set_title("Quality vs memorization per method and clip norm")
    ax.legend(fontsize=7)
    return save(fig, path)
