"""Figures of the `lexical-overlap` study (Choubey et al., arXiv 2311.09458; BRIO, arXiv 2203.16804).

``make_all(evidence, out_dir)`` reads {panel: Dataset} with panels 'main', 'calibration' and 'control'
(each summarized by ``rote.sims.studies.lexical_overlap.analysis.summarize``; any may be missing) and writes:
  bins.png         per-bin ROUGE-2 F1 and entity recall of the full-data MLE model with the generalizer
                   oracle, the rote (identity) line and the measured retrieval baseline, 95 % bootstrap bars;
  uer.png          unsupported-entity rate per test subset and the drift set, per training mode and stage;
  mitigation.png   per-bin ROUGE-2 of capped vs same-size random subset vs full data, and the control;
  calibration.png  candidate diversity, score spread and rank agreement of the calibration stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.lexical_overlap.analysis import SUBSET_NAMES, bootstrap_bins, per_bin, per_subset, test_examples
from ...theory import lexical_overlap as th
from .._common import save

MODE_LABELS = {0: "full data (MLE)", 1: "repetition-capped", 2: "random subset, same size"}


def _bin_x(ds):
    return np.arange(1, int(np.asarray(ds["bin"]).max()) + 2)


def bins_figure(main: xr.Dataset, path: Path) -> Path:
    ds = test_examples(main.sel(mode=0))
    b, x = np.asarray(ds["bin"]), _bin_x(ds)
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    for ax, var, name in zip(fig.subplots(1, 2), ("r2", "er"), ("ROUGE-2 F1", "entity recall")):
        y, ci = per_bin(ds, var), bootstrap_bins(ds, var)
        ax.errorbar(x, y, yerr=np.abs(ci.T - y), marker="o", capsize=3, label="MLE summarizer (seeds pooled, 95 % bootstrap)")
        oracle = [np.asarray(ds[f"oracle_{var}"])[b == i].mean() for i in range(len(x))]
        rote = [np.asarray(ds[f"rote_{var}"])[b == i].mean() for i in range(len(x))]
        ax.plot(x, oracle, "g--", label="generalizer oracle (theory)")
        ax.plot(x, rote, "r:", marker="x", label="rote baseline: retrieved training reference")
        if var == "r2":
            ax.plot(x, th.identity_line(np.asarray(ds["sim"]), b), "r-", alpha=0.5, label="rote line: mean sim of the bin (theory)")
        ax.set_xticks(x, [f"B{i}" for i in x])
        ax.set(xlabel="similarity bin (quantiles of max ROUGE-2 F1 to a training ref)", ylabel=f"{name} (0-1)", title=f"{name} per bin", ylim=(0, 1.05))
        ax.legend(fontsize=7)
    fig.suptitle("Rote learning: scores rise with the reference's overlap with training references")
    return save(fig, path)


def uer_figure(main: xr.Dataset, calibration: xr.Dataset | None, path: Path) -> Path:
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    rows = [(MODE_LABELS[m], main.sel(mode=m), "mle") for m in (0, 1, 2)]
    if calibration is not None:
        for beta in np.asarray(calibration["beta"]).tolist():
            rows.append((f"capped + calibration, beta {beta:g}", calibration.sel(beta=beta), "cal"))
    names = [n for n in SUBSET_NAMES if n in per_subset(main.sel(mode=0), "uer")]
    width = 0.8 / (len(rows) + 1)
    for j, (label, ds, stage) in enumerate(rows):
        sub = per_subset(ds, "uer", stage)
        ax.bar(np.arange(len(names)) + j * width, [sub[n] for n in names], width, label=label)
    s = np.asarray(main["subset"])
    ax.bar(np.arange(len(names)) + len(rows) * width, [np.asarray(main["rote_uer"])[s == i].mean() for i, n in enumerate(SUBSET_NAMES) if n in names],
           width, color="grey", label="rote baseline (retrieval)")
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names)
    ax.set(xlabel="test subset", ylabel="unsupported-entity rate (0-1)", title="Entities not in the document, per subset")
    ax.legend(fontsize=7)
    return save(fig, path)


def mitigation_figure(main: xr.Dataset, control: xr.Dataset | None, path: Path) -> Path:
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for m in (0, 1, 2):
        ds = test_examples(main.sel(mode=m))
        ax.plot(_bin_x(ds), per_bin(ds, "r2"), marker="o", label=MODE_LABELS[m])
    ds0 = test_examples(main.sel(mode=0))
    ax.plot(_bin_x(ds0), [np.asarray(ds0["oracle_r2"])[np.asarray(ds0["bin"]) == i].mean() for i in range(len(_bin_x(ds0)))],
            "g--", label="generalizer oracle (theory)")
    if control is not None:
        dc = test_examples(control)
        ax.plot(_bin_x(dc), per_bin(dc, "r2"), "k:", marker="s", label="control: no storylines (its own bins)")
    ax.set_xticks(_bin_x(ds0), [f"B{i}" for i in _bin_x(ds0)])
    ax.set(xlabel="similarity bin (B1 lowest)", ylabel="ROUGE-2 F1 (0-1)", title="Repetition capping vs a same-size random subset", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    return save(fig, path)


def calibration_figure(cal: xr.Dataset, path: Path) -> Path:
    names = ("cand_distinct", "cand_diversity", "quality_spread", "score_spread_before", "score_spread_after", "rank_agreement_before", "rank_agreement_after")
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    betas = np.asarray(cal["beta"]).tolist()
    for j, beta in enumerate(betas):
        v = [float(cal[n].sel(beta=beta).mean()) for n in names]
        ax.bar(np.arange(len(names)) + j * 0.4, v, 0.4, label=f"beta {beta:g} (mean over seeds)")
    ax.set_xticks(np.arange(len(names)) + 0.2, [n.replace("_", "\n") for n in names], fontsize=7)
    ax.set(xlabel="calibration statistic (per document, mean over documents)", ylabel="value (fractions; spreads in nats or R2 units)",
           title="Calibration candidates: diversity, score spread, rank agreement")
    ax.legend(fontsize=7)
    return save(fig, path)


def make_all(evidence, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "r2" in v}
    main, cal, control = ev.get("main"), ev.get("calibration"), ev.get("control")
    paths = []
    if main is not None:
        paths += [bins_figure(main, out_dir / "bins.png"), uer_figure(main, cal, out_dir / "uer.png"),
                  mitigation_figure(main, control, out_dir / "mitigation.png")]
    if cal is not None:
        paths.append(calibration_figure(cal, out_dir / "calibration.png"))
    return paths
