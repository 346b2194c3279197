"""Figures of the `memorization-types` study (the six types of Hartmann et al., arXiv 2310.18362, Sec. 3).

``make_all(evidence, out_dir)`` reads {panel: Dataset} (panels verbatim, facts, ideas, style,
distribution, alignment; any may be missing) and writes:
  summary.png    per type, the rate on trained vs never-trained items with bootstrap 95 % intervals over
                 seeds, beside the chance level of each measure;
  decoding.png   verbatim extraction and fact recall vs repetitions r under greedy, temperature-1 and top-k
                 decoding (Sec. 6: a behavioural verdict depends on the decoder), with the chance levels;
  probes.png     ideas (extraction vs counterfactual memorization), style (author named per decoder),
                 alignment (refusal vs trigger variants seen).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ...sims.studies.memorization_types import analysis
from ...sims.studies.memorization_types.params import DECODERS
from .._common import empty, save

COLORS = {"greedy": "C0", "sample": "C1", "top_k": "C2"}
LABELS = {"greedy": "greedy", "sample": "sampling, T = 1", "top_k": "top-k sampling"}


def _err(ax, x, triple, **kw):
    m, lo, hi = triple
    ax.errorbar([x], [m], yerr=[[m - lo], [hi - m]], fmt="o", capsize=3, **kw)


def summary_figure(evidence, path: Path) -> Path:
    rows = analysis.summary_table(evidence)
    fig = Figure(figsize=(9, 0.55 * max(len(rows), 2) + 1.6), layout="constrained")
    if not rows:
        return empty(fig, "no memorization-types results", path)
    ax = fig.add_subplot()
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        for off, key, color, label in ((0.12, "trained", "C3", "trained items"), (-0.12, "never_trained", "C7", "never-trained control")):
            m, lo, hi = row[key]
            ax.errorbar([m], [y + off], xerr=[[m - lo], [hi - m]], fmt="o", color=color, capsize=3, label=label if i == 0 else None)
    ax.set_yticks(range(len(rows)), [f"{r['type']}: {r['measure']}" for r in rows][::-1], fontsize=7)
    ax.set_xlabel("rate (fraction of items; seed mean, 95 % bootstrap interval over seeds)")
    ax.set_xlim(-0.05, 1.05)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_title("Six types of memorization (Hartmann et al., arXiv 2310.18362)\ntrained vs never-trained items", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, path)


def decoding_figure(evidence, path: Path) -> Path:
    probes = [p for p in ("verbatim", "facts") if p in evidence]
    fig = Figure(figsize=(10, 4), layout="constrained")
    if not probes:
        return empty(fig, "no verbatim or facts results", path)
    for j, probe in enumerate(probes):
        ds = evidence[probe]
        t = analysis.levels_table(ds)
        r = t["group"].values
        ax = fig.add_subplot(1, len(probes), j + 1)
        x = np.arange(len(r))
        for d in DECODERS:
            vals = np.stack([analysis.seed_values(t.sel(decoder=d), group=g) for g in r], 1)  # (seed, level)
            m = vals.mean(0)
            ax.plot(x, m, "o-", color=COLORS[d], label=LABELS[d])
            ax.fill_between(x, vals.min(0), vals.max(0), color=COLORS[d], alpha=0.15)
        p = analysis.params_of(ds)
        chance = 10.0 ** -p.secret_digits if probe == "verbatim" else 1.0 / p.objects
        ax.axhline(chance, color="k", ls="--", lw=1, label="chance (prediction for r = 0)")
        ax.set_xticks(x, [str(int(v)) for v in r])
        ax.set_xlabel("repetitions r in training (0 = never trained)")
        ax.set_ylabel("fraction memorized (exact target decoded)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title({"verbatim": "Verbatim: canary extraction from its prefix", "facts": "Facts: recall with a held-out template"}[probe])
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Decoding dependence: the same models, three verdicts (band: min-max over seeds)")
    return save(fig, path)


def probes_figure(evidence, path: Path) -> Path:
    fig = Figure(figsize=(13, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    if "ideas" in evidence:
        s = analysis.ideas_summary(evidence["ideas"])
        keys = [("generalization", "unseen\nlists:\nextracted"), ("extract_rule_out", "rule strings\nOUT:\nextracted"),
                ("mem_rule", "rule\nstrings:\nmem"), ("mem_random", "random\nstrings:\nmem")]
        for i, (k, _) in enumerate(keys):
            axes[0].bar(i, s[k].mean(), color="C0" if "mem" not in k else "C3")
            axes[0].plot(np.full(s[k].size, i), s[k], "k.", ms=4)
        axes[0].set_xticks(range(len(keys)), [lab for _, lab in keys], fontsize=7)
        axes[0].axhline(0.0, color="k", ls="--", lw=1, label="prediction for mem of a derivable string: 0")
        axes[0].set_ylabel("rate (bars: seed mean, dots: seeds)")
        axes[0].set_title("Ideas: extracted, yet not stored\n(mem = counterfactual memorization)", fontsize=10)
        axes[0].legend(fontsize=7)
    if "style" in evidence:
        a = analysis.style_accuracy(evidence["style"])
        width = 0.25
        for j, d in enumerate(DECODERS):
            axes[1].bar(np.arange(3) + (j - 1) * width, a.sel(decoder=d).mean("seed").values, width, color=COLORS[d], label=LABELS[d])
        axes[1].axhline(1 / 3, color="k", ls="--", lw=1, label="chance (3 authors)")
        axes[1].set_xticks(range(3), ["author A", "author B", "author C\n(never trained)"])
        axes[1].set_ylabel("generations attributed to the prompted author")
        axes[1].set_title("Style: a classifier names the author")
        axes[1].legend(fontsize=7)
    if "alignment" in evidence:
        r = analysis.group_rates(evidence["alignment"])
        names = analysis.group_names(evidence["alignment"])
        n = r["variants"].values
        for code, color in ((0, "C3"), (2, "C1"), (3, "C4"), (4, "C7")):
            vals = np.stack([analysis.seed_values(r.sel(variants=v), group=code) for v in n], 1)
            axes[2].errorbar(n, np.nanmean(vals, 0), yerr=np.nanstd(vals, 0), fmt="o-", color=color, capsize=3, label=names[code])
        axes[2].axhline(0, color="k", ls="--", lw=1, label="prediction for never-trained prompts: 0")
        axes[2].set_xscale("log", base=2)
        axes[2].set_xlabel("trigger variants trained with REFUSE")
        axes[2].set_ylabel("greedy refusal rate (mean +- SD over seeds)")
        axes[2].set_title("Alignment: triggers vs paraphrases")
        axes[2].legend(fontsize=6)
    for ax in axes:
        ax.set_ylim(-0.1, 1.05)
    fig.suptitle("Ideas and algorithms, writing styles, alignment goals (Hartmann et al. 2310.18362, Sec. 3)")
    return save(fig, path)


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if v is not None and "hit" in v}
    return [summary_figure(ev, out_dir / "summary.png"), decoding_figure(ev, out_dir / "decoding.png"), probes_figure(ev, out_dir / "probes.png")]
