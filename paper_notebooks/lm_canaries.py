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
# # Canaries, exposure, extraction and DP-SGD in a tiny language model
#
# The verbatim core of the memorization survey of Hartmann et al. (arXiv 2310.18362), rebuilt on a
# tiny decoder-only LM trained from scratch on synthetic Markov text, so that membership is known by
# construction:
# * **exposure** (Carlini et al., "The Secret Sharer", arXiv 1802.08232): a canary "the random number
#   is" + 4 random digits is inserted r times; its rank among all |R| = 10^4 secrets by log-perplexity
#   gives exposure = log2 |R| - log2 rank, about log2 e = 1.44 bits for a canary never inserted;
# * **extraction** (Carlini et al., arXiv 2202.07646): greedy decoding from a true k-token prefix
#   reproduces the rest of a canary or of a duplicated training row;
# * **mitigations**: exact deduplication (Lee et al., arXiv 2107.06499) and DP-SGD (Abadi et al.,
#   arXiv 1607.00133) with the accountant's epsilon beside a one-run audit's lower bound (Steinke,
#   Nasr, Jagielski, arXiv 2305.08846).
#
# The study's code: `sims/studies/lm_canaries/`, the shared LM parts `sims/lm.py`, `sims/text.py`,
# `sims/decoding.py`, `sims/privacy.py`, and `theory/exposure.py`, `theory/privacy_audit.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import jax
import numpy as np

from rote.figures._common import show
from rote.figures.lm_canaries import exposure as exposure_figs
from rote.figures.lm_canaries import extraction as extraction_figs
from rote.figures.lm_canaries import privacy as privacy_figs
from rote.sims import accounting, results, text
from rote.sims.cli import format_verdicts
from rote.sims.studies.lm_canaries import STUDY
from rote.sims.studies.lm_canaries.analysis import AUDIT_GUESS_FRACTION
from rote.sims.studies.lm_canaries.claims import claims
from rote.sims.studies.lm_canaries.params import canary_levels
from rote.sims.studies.lm_canaries.run import make_data, sizes
from rote.sims.studies.lm_canaries.scales import quick_scale
from rote.theory import exposure as ex
from rote.theory import privacy_audit

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="lm-canaries-figures-"))
quick = quick_scale()
print(quick.base)


# %% [markdown]
# ## 1. Results: the quick sweep if it was run, else a smoke-size sweep in memory
# `rote sweep lm-canaries --scale quick` (a few minutes on 2 CPU cores) writes three panels: repetition
# (widths 32 and 64, 4 seeds), dedup and dp (sigma 0-2). Without saved results this notebook runs the
# smoke scale's repetition and dedup panels in memory (one compile, seconds of training; the DP panel
# would be a second compile), whose numbers are illustrative only.

# %%
scale, evidence = results.quick_or_smoke(STUDY, skip=("dp",))
rep, dedup, dp = (evidence.get(k) for k in ("repetition", "dedup", "dp"))
print(f"results ready after {time.perf_counter() - NOTEBOOK_T0:.0f} s")

# %% [markdown]
# ## 2. The training set: Markov text, canaries, tracked rows, audit canaries
# Ordinary text comes from a sparse random Markov chain over the word tokens (4 successors each,
# Dirichlet weights); the 10 digit tokens appear only in canaries. Repetition is data, not shape: each
# row has a multiplicity, so r = 0, 1, ..., 16 copies live in one fixed-size array, and deduplication
# caps every multiplicity at 1. Batches are Poisson samples of the occurrences, as the accountant
# assumes.

# %%
base = scale.base
data = make_data(base, jax.random.PRNGKey(0))
s = sizes(base)
counts = np.asarray(data["counts"])
N, C = base.train_sequences, s["C"]
print(f"rows {counts.size}: {N} Markov rows (the first {C} tracked, counts r), {C} canary rows, {s['A']} audit rows")
print(f"occurrences in the training multiset: {counts.sum()}; Poisson rate q = {float(data['rate']):.4f} "
      f"(expected batch {base.batch_size}, buffer of {s['slots']} slots)")
print("a canary row (template, digits, Markov tail):", np.asarray(data["tokens"])[N + C - 1])
print("its repetition count:", counts[N + C - 1], "   a tracked row's count:", counts[C - 1])
print(f"entropy floor of the chain (validation loss of the true chain): {float(text.chain_loss_floor(data['chain'], base.context)):.3f} nats/token")

# %% [markdown]
# ## 3. Exposure grows with repetitions
# Exact exposure at the end of training by repetition level, seed mean and range. The never-inserted
# canaries (r = 0) sit at the null log2 e; eight canaries share each level and one template, so the
# top levels crowd each other near log2(10^4 / 8) (the ceiling of a canary whose level-mates rank
# with it).

# %%
show(exposure_figs.exposure_vs_r(rep, dedup, FIG_DIR / "exposure_vs_r.png"))
print("expected null exposure for |R| = 10^4:", round(float(ex.expected_null_exposure(10**4)), 4), "bits")

# %% [markdown]
# ## 4. Memorized early? Exposure along training beside validation loss
# The Secret Sharer (Sec. 6) finds canaries memorized before validation loss stops improving, so not
# as a by-product of overfitting. "Stops improving" is read as a plateau: the first logged step after
# which validation loss never falls by more than twice the standard deviation of its step-to-step
# changes (second half of training). At quick scale the r = 16 canaries are far above the null
# (6.6-9.7 bits, most of their final exposure) at the plateau, but reach 90 % of their maximum 50-100
# steps after it, in every seed: as the study defines it, the claim is not reproduced here (declared
# from the pilot seeds, still checked, reported NOT REPRODUCED below with every seed). Validation loss does not rise after the plateau (no overfitting), so the
# late gain does not come from overfitting either.

# %%
base_width = scale.cells.base_width
show(exposure_figs.exposure_training(rep, base_width, FIG_DIR / "exposure_training.png"))

# %% [markdown]
# ## 5. Exact vs extrapolated exposure
# The skew-normal fit of the never-inserted references' log-perplexities estimates each canary's
# rank among never-inserted secrets; enumerating R gives it exactly. Ranked among all of R, a canary
# also has the other inserted canaries above it, which the references cannot know about (orange).

# %%
show(exposure_figs.agreement(rep, base_width, FIG_DIR / "exposure_agreement.png"))

# %% [markdown]
# ## 6. Extraction from a true prefix
# All canaries share one template, so greedy decoding from the template alone (k <= 6) follows one
# path: at most one canary can come out, whatever the model memorized. Giving two digits (k = 8)
# separates them. Duplicated training rows must reproduce their next tokens.

# %%
show(extraction_figs.extraction_figure(rep, FIG_DIR / "extraction.png"))

# %% [markdown]
# ## 7. DP-SGD and the audit
# Per-example clipping at C = 1 and Gaussian noise sigma C; the accountant (RDP, an upper bound)
# gives epsilon per example. The one-run audit inserts each audit canary with probability 1/2 and
# guesses membership from the model; its 95 % lower bound can never exceed a correct upper bound. A
# canary repeated r times is protected only at about r epsilon (group privacy), so the r = 16 level
# keeps some exposure even at sigma = 2: at quick scale lower than without DP (the trend claim
# passes), but above the toy design's untested 3 bits (NOT REPRODUCED, declared).

# %%
if dp is not None:
    show(privacy_figs.dp_figure(dp, rep, FIG_DIR / "dp.png"))
else:
    qb = quick.base  # design size: Markov rows, tracked rows and canaries at their counts, audit rows at 1/2
    q = qb.batch_size / (qb.train_sequences - sizes(qb)["C"] + 2 * int(canary_levels(qb).sum()) + qb.audit_canaries / 2)
    print(f"no DP panel here; the accountant for the quick design (q = {q:.4f}, {quick.base.steps} steps, delta 1e-5):")
    for sigma in (0.5, 1.0, 2.0):
        print(f"  sigma {sigma}: epsilon <= {accounting.epsilon(sigma, q, quick.base.steps, 1e-5, 'rdp'):.2f}")
guesses = int(2 * AUDIT_GUESS_FRACTION * base.audit_canaries)
print(f"the most the audit ({guesses} guesses of {base.audit_canaries}) can show at 95 %: epsilon {privacy_audit.max_auditable(guesses):.2f}")

# %% [markdown]
# ## 8. The claims of `rote verify lm-canaries`

# %%
verdicts = [claim(evidence) for claim in claims(scale)]
print(format_verdicts(verdicts))
if scale.name != "quick":
    print("SMOKE evidence (not the quick scale, no DP panel): trend and DP claims may fail here")
print(f"notebook ran in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
