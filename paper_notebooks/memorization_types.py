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
# # Six types of memorization, one controlled probe each
#
# Hartmann et al., *SoK: Memorization in General-Purpose Large Language Models* (arXiv 2310.18362, Sec. 3)
# argue that memorization is more than verbatim text. Their taxonomy has six types: **verbatim text**,
# **facts**, **ideas and algorithms**, **writing styles**, **distributional properties** and **alignment
# goals**. They also warn (Sec. 6) that behavioural definitions depend on the decoding algorithm and cannot
# tell a stored string from one the model derives.
#
# This notebook walks through the taxonomy on the shared tiny decoder-only LM (`rote.sims.lm`). Every probe
# has a *never-trained control* (items with multiplicity 0 in the training set), so "memorized" is known by
# construction:
#
# | type | probe | never-trained control |
# |---|---|---|
# | verbatim | canaries with their own prefix inserted r times; greedy extraction and exact exposure | r = 0 canaries |
# | facts | (subject, relation, object) rendered with K templates r times; recall with a held-out template | r = 0 facts (chance = 1 / objects) |
# | ideas | a rule (reverse a list) on training lists; rule-derived and random strings with IN / OUT halves | OUT strings, unseen lists |
# | style | two authors (Markov chains) behind tag tokens; a bigram classifier names the author of generations | author C, never trained |
# | distribution | fraction p of population-B text; a meta-classifier on loss statistics infers p | labels permuted across models |
# | alignment | REFUSE after trigger prompts (a concept synonym in context) | ordinary prompts; paraphrases |
#
# The full verbatim study (exposure vs repetitions, width, steps, deduplication, DP-SGD) is `lm-canaries`
# (`paper_notebooks/lm_canaries.py`); here the verbatim probe is a small run built on the same shared parts
# (`rote.sims.text` canaries, `rote.sims.lm.secret_log_perplexities`, `rote.sims.decoding`), so that its
# verdict can be compared under three decoders beside the fact probe.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import numpy as np

from rote.figures._common import show
from rote.figures.memorization_types import decoding_figure, probes_figure, summary_figure
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.memorization_types import STUDY, analysis
from rote.sims.study import Evidence

FIG_DIR = Path(tempfile.mkdtemp(prefix="memorization-types-figures-"))

# %% [markdown]
# ## Results: the quick sweep if it was run, else the smoke scale in memory
# `rote sweep memorization-types --scale quick` writes one panel per type. Without saved results this
# notebook sweeps the smoke scale in memory (six compiles, a few minutes on 2 cores; its numbers are
# illustrative only: 20 training steps learn next to nothing).

# %%
scale, evidence = results.quick_or_smoke(STUDY)
for name, ds in evidence.items():
    print(f"{name:13s} {dict(ds.sizes)}")

# %% [markdown]
# ## 1. Verbatim text and facts, and the decoder
# Canaries and facts are trained r times; r = 0 items were never trained on. The verdict "memorized" is
# the exact target decoded from the item's prompt: greedily (the extraction definition of Carlini et al.,
# arXiv 2202.07646), by sampling at temperature 1, or by top-k sampling. Under sampling, a never-trained
# fact is "recalled" at the chance rate 1 / objects, and a trained one less often than greedily.

# %%
for probe, row in analysis.decoding_table(evidence).items():
    print(probe, {k: round(v, 3) for k, v in row.items()})
show(decoding_figure(evidence, FIG_DIR / "decoding.png"))

# %% [markdown]
# ## 2. Ideas and algorithms: extracted, yet not stored
# A rule-derived string that was never in training is still produced by greedy decoding (the extraction
# definition calls it memorized), while its counterfactual memorization (Zhang et al., arXiv 2112.12938:
# accuracy when trained on minus accuracy when not) is about 0: the model *reasons its way* to it. Random-
# output strings, which cannot be derived, show a clearly positive counterfactual memorization.

# %%
s = analysis.ideas_summary(evidence["ideas"])
for k, v in s.items():
    print(f"{k:20s} {np.round(v, 3)}")

# %% [markdown]
# ## 3. Styles, distributions, alignment
# * style: the classifier is trained on real text of the three authors (bigram counts, logistic regression);
#   it names the prompted author of the model's temperature-1 generations, but not author C, whose text the
#   model never saw;
# * distribution: each model saw a fraction p in {0.2, 0.5, 0.8} of population-B text; a leave-one-out
#   meta-classifier on its losses on fixed probe rows infers p (chance 1/3; one-sided binomial test), and
#   fails on labels permuted across models;
# * alignment: REFUSE fires on the exact trained triggers; paraphrases (a trained synonym in a new context,
#   or a synonym that never appeared in a trigger) are refused far less, more so as more variants are seen.

# %%
print(analysis.style_accuracy(evidence["style"]).mean("seed").round(3).to_pandas())
pi = analysis.property_inference(evidence["distribution"])
for k in ("trained", "control"):
    print(k, {m: v for m, v in pi[k].items() if m != "correct"})
show(probes_figure(evidence, FIG_DIR / "probes.png"))

# %% [markdown]
# ## 4. The summary: trained vs never-trained, with bootstrap intervals over seeds

# %%
for row in analysis.summary_table(evidence):
    t, n = row["trained"], row["never_trained"]
    print(f"{row['type']:12s} {row['measure']:75s} trained {t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]   never trained {n[0]:.3f} [{n[1]:.3f}, {n[2]:.3f}]")
show(summary_figure(evidence, FIG_DIR / "summary.png"))

# %% [markdown]
# ## 5. Prediction vs measurement
# Every claim with its tolerance (`rote verify memorization-types`). At smoke scale most fail: the smoke run
# checks the plumbing, not the phenomena.

# %%
verdicts = [claim(Evidence(evidence)) for claim in STUDY.claims(scale)]
print(format_verdicts(verdicts))
