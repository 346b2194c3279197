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
# # Unintended memorization in a CTC speech model: sped-up canaries, per-example and per-core clipping
#
# Wang, Thakkar, Mathews, *Unintended Memorization in Large ASR Models, and How to Mitigate It* (arXiv
# 2310.11739, ICASSP 2024), rebuilt on synthetic speech:
# * **the audit**: random token strings are rendered, **sped up** (average pooling of 6 frames, a fixed
#   "formant shift") and inserted r in {1, 2, 4, 8, 16} times into training; a held-out group K_0 is
#   never trained on. Ordinary speech teaches nothing about sped-up speech, so transcripts of trained
#   canaries better than K_0's are memorization, M(r) = TER(K_0) - TER(K_r), without reference models;
# * **the mitigations**: per-example clipping (PEC) bounds each example's gradient by C; per-core
#   clipping (PCC) clips the mean gradient of each of M cores (microbatches) and so costs about what
#   ordinary data-parallel training costs.
#
# Code: `sims/studies/asr_canaries/` (CTC model in flax, `optax.ctc_loss`), the synthetic speech in
# `sims/speech.py`, the clipping in `sims/privacy.py` (per-core clipping across devices with `shard_map`:
# `privacy.sharded_per_core_grad`), the step-cost benchmark in `benchmarks/bench_asr.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import jax
import jax.numpy as jnp
import numpy as np

from rote.figures._common import show
from rote.figures.asr_canaries import calibration, memorization
from rote.sims import results, speech
from rote.sims.cli import format_verdicts
from rote.sims.studies.asr_canaries import STUDY
from rote.sims.studies.asr_canaries.claims import claims
from rote.sims.studies.asr_canaries.scales import quick_scale
from rote.sims.study import Evidence

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="asr-canaries-figures-"))

# %% [markdown]
# ## 1. Synthetic speech and the sped-up renderer
# Each token has a prototype in a 16-dimensional feature space and lasts 2-4 frames. Speeding up pools 6
# frames into one, so a pooled frame mixes about two tokens and loses their order; a CTC alignment must
# still exist (T' >= N + adjacent repeats), which the parameters check for the shortest canary.

# %%
p = quick_scale().base
key = jax.random.PRNGKey(0)
protos = speech.prototypes(key, p.vocab, p.dim)
canary = speech.random_strings(jax.random.fold_in(key, 1), 1, p.canary_length, p.vocab)
frames, n = speech.render(jax.random.fold_in(key, 2), canary, jnp.array([p.canary_length]), protos, p.frames, p.d_min, p.d_max, p.noise)
fast, fast_n = speech.speed_up(frames, n, p.speedup, p.formant_shift, p.formant_gain)
print("canary tokens", np.asarray(canary[0]).tolist(), f"| frames at normal speed {int(n[0])}, sped up {int(fast_n[0])}, "
      f"CTC output frames {int(fast_n[0]) * p.upsample}")
print("feasible:", bool(speech.ctc_feasible(fast_n * p.upsample, canary, jnp.array([p.canary_length]))[0]))

# %% [markdown]
# ## 2. The sweep: baseline, PEC and PCC
# Quick results if they were saved (`rote sweep asr-canaries --scale quick`), else the smoke scale in
# memory (illustrative numbers only).

# %%
scale, evidence = results.quick_or_smoke(STUDY)
ev = {k: v for k, v in evidence.items()}
show(memorization.ter_figure(ev, FIG_DIR / "ter_by_r.png"))

# %% [markdown]
# Trained canaries are read better the more often they were seen, while the held-out group stays near
# the no-canary control. PEC at small C keeps every group near K_0; PCC protects the rarely repeated
# canaries and keeps clean quality.

# %%
show(memorization.tradeoff_figure(ev, FIG_DIR / "tradeoff.png"))

# %% [markdown]
# ## 3. Choosing C from the per-example gradient norms

# %%
show(calibration.grad_norm_figure(ev, FIG_DIR / "grad_norms.png"))

# %% [markdown]
# ## 4. Cost per method
# From `benchmarks/bench_asr.py`'s report when it was run (`python benchmarks/bench_asr.py`), else the
# sweep's compute time per config-epoch.

# %%
show(calibration.cost_figure(ev, FIG_DIR / "cost.png"))

# %% [markdown]
# ## 5. Prediction vs measurement

# %%
verdicts = [c(Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook ran in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
