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
# # Counterfactual memorization and membership inference on shadow models of a tiny LM
#
# The second part of the memorization survey of Hartmann et al. (arXiv 2310.18362, Sec. 3, E4 and E5),
# rebuilt on the tiny decoder-only LM of `lm-canaries`:
# * **counterfactual memorization** (Zhang et al., arXiv 2112.12938, Eq. 1): mem(x) = E[acc | x in
#   training] - E[acc | x held out], estimated from M models each trained on a random half of a pool of
#   rare (random), common (templated) and ordinary Markov sequences;
# * **membership inference** on the same models, every model in turn the target and the others its
#   shadows: loss threshold, zlib ratio, Min-K%, Min-K%++, a reference model, LiRA online / offline /
#   fixed variance (Carlini et al., arXiv 2112.03570) and RMIA (Zarifzadeh et al., arXiv 2312.03262),
#   as AUC and TPR at low FPR on log-log ROC curves, beside the closed-form optimum of the Gaussian
#   likelihood-ratio test;
# * a **negative control** after MIMIR (Duan et al., arXiv 2402.07841): one epoch over a large
#   deduplicated corpus leaves every attack near chance; and **deduplication** (Lee et al., arXiv
#   2107.06499) weakens the attacks on sequences that were duplicated.
#
# Code: `sims/studies/lm_membership/`, the attacks `sims/membership.py`, the closed forms
# `theory/lm_membership.py`, the shared LM `sims/lm.py` and text `sims/text.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import numpy as np

from rote.figures._common import show
from rote.figures.lm_membership import memorization as mem_figs
from rote.figures.lm_membership import roc as roc_figs
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.lm_membership import STUDY, analysis
from rote.sims.studies.lm_membership.claims import claims
from rote.sims.study import Evidence
from rote.theory import lm_membership as th

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="lm-membership-figures-"))


# %% [markdown]
# ## 1. The optimum on paper: the binormal ROC
# If the IN and OUT scores of an example are Gaussians N(mu_in, s^2) and N(mu_out, s^2), the
# likelihood-ratio test (what LiRA estimates) has TPR(FPR) = Phi(d + Phi^-1(FPR)) with d = (mu_in -
# mu_out) / s and AUC = Phi(d / sqrt 2). A small d still gives a useful TPR at 1 % FPR only when the
# test is calibrated per example.

# %%
for d in (0.5, 1.0, 2.0, 3.0):
    print(f"d = {d}: AUC {th.binormal_auc(d, 0.0):.3f}, TPR@1% {float(th.binormal_tpr(0.01, d, 0.0)):.3f}, "
          f"TPR@0.1% {float(th.binormal_tpr(0.001, d, 0.0)):.4f}")

# %% [markdown]
# ## 2. Results: the quick sweep if it was run, else the smoke scale in memory
# `rote sweep lm-membership --scale quick` writes three panels (shadow: M = 16 models; dedup; negative).
# Without saved results this notebook sweeps the smoke scale in memory (two compiles, seconds of
# training), whose numbers are illustrative only.

# %%
scale, evidence = results.quick_or_smoke(STUDY)
shadow = evidence["shadow"]
print(f"{shadow.sizes['seed']} shadow models x {shadow.sizes['sequence']} sequences x {shadow.sizes['position']} tokens; "
      f"results ready after {time.perf_counter() - NOTEBOOK_T0:.0f} s")

# %% [markdown]
# ## 3. Rare vs common memorization (E4)
# mem(x) on teacher-forced per-token accuracy. Random sequences are predicted only by the models that
# trained on them; templated ones are predicted by every model, since the other members of the family
# teach the body: their mem(x) stays small although their training accuracy is high.

# %%
mem = analysis.memorization(shadow)
print("mean mem by kind:", {k: round(v, 3) for k, v in analysis.mean_by_kind(mem).items()})
print("mean IN accuracy by kind:", {k: round(v, 3) for k, v in analysis.mean_by_kind(mem, "accuracy_in").items()})
print(f"median standard error of mem(x): {np.nanmedian(mem['mem_se'].values):.3f}")
show(mem_figs.memorization_figure(shadow, FIG_DIR / "memorization.png"))

# %% [markdown]
# ## 4. Every attack on one score matrix (E5)
# Pooled over all models x sequences. The global attacks (loss, zlib, Min-K%, Min-K%++) rank sequences
# by how easy they are, so at low FPR they flag easy non-members; the per-example tests (LiRA, RMIA, the
# reference model) compare each sequence with itself under other models.

# %%
table = analysis.attack_table(shadow)
for a in table["attack"].values:
    t = table.sel(attack=a)
    print(f"{str(a):20s} AUC {float(t['auc']):.3f}  " + "  ".join(f"TPR@{f:g} {float(t['tpr'].sel(fpr=f)):.3f}" for f in table["fpr"].values))
show(roc_figs.roc_figure(shadow, evidence.get("negative"), FIG_DIR / "roc.png"))

# %% [markdown]
# ## 5. How many shadow models? Fixed vs per-example variance
# With few shadow models the per-example standard deviations are noisy; one global SD per target is
# the reference code's remedy (Carlini et al., arXiv 2112.03570, Sec. VI.B).

# %%
show(roc_figs.shadow_models_figure(shadow, FIG_DIR / "shadow_models.png"))

# %% [markdown]
# ## 6. The claims at this scale

# %%
verdicts = [c(Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook done in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
