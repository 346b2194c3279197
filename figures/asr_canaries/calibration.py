"""Gradient-norm calibration of the clip norm C and the step cost per method (arXiv 2310.11739, Sec. 3-4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._common import save, scalar_param

BENCH_JSON = Path(__file__).resolve().parents[2] / "bench_out" / "asr.json"


def grad_norm_figure(ev, path: Path) -> Path:
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    runs = []
    if "baseline" in ev:
        ds = ev["baseline"]
        runs.append((f"{scalar_param(ds, 'epochs')} ep", ds.sel(insert_canaries=True) if "insert_canaries" in ds.dims else ds))
    if "budget" in ev:
        runs.append((f"{scalar_param(ev['budget'], 'epochs')} ep", ev["budget"]))
    for j, (label, ds) in enumerate(runs):
        for kind, ls in (("clean", "-"), ("canary", "--")):
            q = ds[f"{kind}_norm_q"]
            q = q.mean("seed") if "seed" in q.dims else q
            ax.plot(q["quantile"].values, q.values, marker="o", ls=ls, color=f"C{j}", label=f"{kind} examples, baseline at {label}")
    clips = sorted({float(c) for c in ev["pec"]["clip"].values}) if "pec" in ev else []
    if "pcc" in ev:
        clips = sorted(set(clips) | {float(scalar_param(ev["pcc"], "clip"))})
    for c in clips:
        ax.axhline(c, color="gray", lw=0.8, ls=":")
        ax.text(0.02, c, f" C={c:g}", va="bottom", fontsize=7, transform=ax.get_yaxis_transform())
    ax.set_yscale("log")
    ax.set_xlabel("quantile")
    ax.set_ylabel("per-example gradient L2 norm")
    ax.set_title("Calibration: per-example gradient norms (mean over seeds) and the swept C")
    ax.legend(fontsize=7)
    return save(fig, path)


def _bench_ratios() -> dict[str, float] | None:
    try:
        report = json.loads(BENCH_JSON.read_text())
        return {k: float(v) for k, v in report["methods"]["ratios"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cost_figure(ev, path: Path) -> Path:
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ratios = _bench_ratios()
    if ratios is not None:
        source = "benchmarks/bench_asr.py (ms per step, best quiet sample)"
    else:  # the sweep's compute time per config-epoch, compiles included
        per = {}
        for name, label in (("budget", "baseline"), ("pec", "PEC"), ("pcc", "PCC")):
            if name in ev:
                ds = ev[name]
                per[label] = float(ds.attrs.get("compute_time_s", np.nan)) / (int(ds.attrs.get("n_configs", 1)) * scalar_param(ds, "epochs"))
        base = per.get("baseline", np.nan)
        ratios = {k: v / base for k, v in per.items()}
        source = "sweep compute time per config-epoch (compiles included; run the benchmark for step cost)"
    names = list(ratios)
    ax.bar(names, [ratios[n] for n in names], color=[f"C{i}" for i in range(len(names))])
    ax.axhline(1.0, color="k", lw=1, ls="--", label="baseline (1x)")
    ax.axhline(2.0, color="C1", lw=1, ls=":", label="paper: PCC about 2x baseline, PEC 4-5x")
    ax.set_ylabel("cost relative to the baseline step")
    ax.set_title("Step cost per method\n" + source, fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, path)
