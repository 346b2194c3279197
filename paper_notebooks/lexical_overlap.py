# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lexical repetitions lead to rote learning
#
# Choubey, Fabbri, Xiong, Wu, *Lexical Repetitions Lead to Rote Learning: Unveiling the Impact of Lexical
# Overlap in Train and Test Reference Summaries* (arXiv 2311.09458): one average score hides that a
# summarizer does far better (up to 5x ROUGE-2) on test references lexically close to training references,
# and reproduces training artifacts there; limiting lexical repetition among training summaries during
# fine-tuning and likelihood calibration (BRIO, Liu et al., arXiv 2203.16804) helps novel cases.
#
# Here: a procedural news-like corpus (`sims/summaries.py`) with recurring storylines whose copies follow a
# Zipf law and an injected artifact (the document names another organisation than the reference), a
# prefix-LM summarizer on the shared tiny transformer (`sims/lm.py`), ROUGE-2 from `rouge-score`, test
# examples binned by sim(r) = max over training references of ROUGE-2 F1 (our operationalization), and the
# analytic lines of `theory/lexical_overlap.py`.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import numpy as np

from rote.figures import lexical_overlap as figs
from rote.figures._common import show
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.lexical_overlap import STUDY, analysis
from rote.sims.studies.lexical_overlap.claims import claims
from rote.sims.study import Evidence

FIG_DIR = Path(tempfile.mkdtemp(prefix="lexical-overlap-figures-"))

# %% [markdown]
# ## 1. Results: the quick-scale sweep if saved, else the smoke scale in memory

# %%
scale, evidence = results.quick_or_smoke(STUDY)
main = evidence["main"]
full = analysis.test_examples(main.sel(mode=0))
print("bin edges of sim:", np.round(full["bin_edges"].values, 3))
print("R2 per bin:", np.round(analysis.per_bin(full, "r2"), 3))
print("ER per bin:", np.round(analysis.per_bin(full, "er"), 3))
print("UER per subset:", {k: round(v, 3) for k, v in analysis.per_subset(main.sel(mode=0), "uer").items()})

# %% [markdown]
# ## 2. Scores per similarity bin, with the generalizer oracle and the rote line
#
# The rote baseline recites the reference of the nearest training document; on the identity line
# (per-bin R2 = mean sim) it would always hit the most similar reference. The generalizer oracle copies the
# document's entities into the event's most frequent template: flat up to the template choice.

# %%
show(figs.bins_figure(main, FIG_DIR / "bins.png"))

# %% [markdown]
# ## 3. Rote factual errors: unsupported entities per subset

# %%
show(figs.uer_figure(main, evidence.get("calibration"), FIG_DIR / "uer.png"))

# %% [markdown]
# ## 4. Mitigation: repetition capping against a random subset of the same size

# %%
show(figs.mitigation_figure(main, evidence.get("control"), FIG_DIR / "mitigation.png"))
if "calibration" in evidence:
    show(figs.calibration_figure(evidence["calibration"], FIG_DIR / "calibration.png"))

# %% [markdown]
# ## 5. Prediction vs measurement

# %%
verdicts = [c(Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
