"""Gromov's periodic solution (arXiv 2301.02679; arXiv 2310.13061, Eq. 2) versus width, no training:
accuracy and the logit statistics against their random-phase predictions (2310.13061, App. D)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ...theory import grokking as theory
from .._common import save


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
    return save(fig, path)
