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
# # Memorization for good: encryption with a language model (SELM) and its IND-CPA game
#
# Stevens and Su, "Memorization for Good: Encryption with Autoregressive Language Models" (arXiv 2305.10445).
# A message m is encrypted as a vector theta_d in R^d: Adam on theta_d (from 0) until a frozen public LM with
# weights theta_0 + P_k(theta_d) greedily decodes m after a fixed prompt. P_k is a Fastfood projection
# (H G Pi H B) whose random matrices come from the integer key k. Decryption rebuilds P_k and decodes.
# Security is probed with an empirical IND-CPA game: classifiers try to tell which of two messages a
# ciphertext encrypts, with an exact binomial test and Holm's correction across attacker x pair cells.
#
# Here the public model is the shared tiny LM (`sims/lm.py`) pretrained on Markov text (`sims/text.py`) and
# cached (`sims/public_lm.py`); the projection is `sims/fastfood.py`; closed forms in `theory/selm.py`; the
# study in `sims/studies/selm/`.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import jax
import jax.numpy as jnp
import numpy as np

from rote.figures import selm as figs
from rote.figures._common import show
from rote.sims import fastfood, results
from rote.sims.cli import format_verdicts
from rote.sims.studies.selm import STUDY, analysis
from rote.sims.studies.selm import claims as C
from rote.sims.study import Evidence
from rote.theory import selm as th

FIG_DIR = Path(tempfile.mkdtemp(prefix="selm-figures-"))

# %% [markdown]
# ## 1. The key: Fastfood against its explicit matrix
# The fast projection (log2 LL butterflies) equals the dense (D, d) matrix of the closed form, and its
# columns have norm about 1 (the normalised variant; the paper's released code uses the raw one with a tiny
# learning rate).

# %%
D, d = 200, 12
ff = fastfood.draw_key(jax.random.PRNGKey(0), D)
dense = th.fastfood_dense(np.asarray(ff.b), np.asarray(ff.perm), np.asarray(ff.g), d, D)
x = np.random.default_rng(0).normal(size=d).astype(np.float32)
print("max |fast - dense|:", float(np.abs(np.asarray(fastfood.project(ff, jnp.asarray(x), D)) - dense @ x).max()))
print("column norms: mean", np.linalg.norm(dense, axis=0).mean().round(3))
print("an attacker wins on 100 test ciphertexts from accuracy", th.win_accuracy(100), "(one-sided binomial, alpha 0.05)")

# %% [markdown]
# ## 2. Encryptions: quick results if saved, else the smoke scale in memory

# %%
scale, evidence = results.quick_or_smoke(STUDY)
cells = scale.cells
t = evidence["trends"]
print("converged:", int(t["converged"].sum()), "of", t["converged"].size, "; exact among converged:",
      int((t["exact"] * t["converged"]).sum()), "; wrong key exact:", int(t["wrong_exact"].sum()))
print(analysis.median_steps(t).to_dataframe().unstack(["kind"]).round(0))

# %%
show(figs.steps_figure(evidence, FIG_DIR / "steps.png"))

# %% [markdown]
# ## 3. The L2 leak and the two fixes

# %%
show(figs.norms_figure(evidence, FIG_DIR / "norms.png"))

# %% [markdown]
# ## 4. The IND-CPA game
# Ten attackers (kNN, LDA, logistic regression, gradient boosting, a flax MLP; on six summary features and
# on the raw vector) plus the L2 threshold, for each message pair; a star marks a Holm-corrected win.

# %%
show(figs.game_figure(evidence, FIG_DIR / "game.png"))
for variant in cells.variants:
    try:
        tab = C.game_table(evidence, cells, variant)
    except ValueError as exc:  # at smoke scale a variant may have too few converged ciphertexts
        print(variant, ":", exc)
        continue
    print(variant, ":", int(tab["reject"].sum()), "of", tab["reject"].size, "cells win after Holm")

# %%
show(figs.capacity_figure(evidence, FIG_DIR / "capacity.png"))

# %% [markdown]
# ## 5. Prediction vs measurement

# %%
verdicts = [c(Evidence(evidence)) for c in C.claims(scale)]
print(format_verdicts(verdicts))
