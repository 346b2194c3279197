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
# # Over-memorization in natural, robust and catastrophic overfitting, on 8 x 8 digits
#
# Lin, Yu, Han, Liu, "On the Over-Memorization During Natural, Robust and Catastrophic Overfitting"
# (ICLR 2024, arXiv 2310.08847). The paper's observation (Sec. 3-4): when a network overfits, it
# suddenly becomes very confident (natural loss below a threshold T) on some training patterns and
# keeps that memory; the same natural-pattern signature goes with the test-accuracy decline of natural
# training, robust overfitting in PGD adversarial training and catastrophic overfitting in FGSM
# training. Its remedy, Distraction Over-Memorization (Sec. 5, Algorithm 1), removes (DOM_RE) or
# iteratively augments (DOM_DA) the high-confidence natural patterns after a warm-up epoch K.
#
# Here: scikit-learn's digits (1797 images, 8 x 8, scaled to [0, 1], a stratified 70/30 split), the
# MLP 64-256-256-10, SGD with momentum, 30 % symmetric label noise as the stress test that makes
# natural overfitting visible at this size, PGD-5 and FGSM adversarial training. The study's code:
# `sims/studies/over_memorization/`, the attacks in `sims/adversarial.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from rote.figures._common import show
from rote.figures.over_memorization import curves, ranking
from rote.sims import adversarial, results
from rote.sims.cli import format_verdicts
from rote.sims.studies.over_memorization import STUDY
from rote.sims.studies.over_memorization.claims import claims
from rote.sims.studies.over_memorization.dom import augment
from rote.sims.studies.over_memorization.params import METHODS
from rote.sims.studies.over_memorization.run import digits_split
from rote.sims.studies.over_memorization.scales import quick_scale
from rote.theory import over_memorization as closed

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="over-memorization-figures-"))
quick = quick_scale()


# %% [markdown]
# ## 1. Results: the quick sweep if it was run, else a smoke-size sweep in memory
# `rote sweep over-memorization --scale quick` (about two minutes of CPU) writes four panels: noise
# (the five variants under 30 % label noise, 4 seeds), clean (no noise), pgd (PGD-5 AT) and fgsm. Without
# saved results this notebook runs the smoke scale in memory (seconds of training, three compiles),
# whose numbers are illustrative only.

# %%
scale, evidence = results.quick_or_smoke(STUDY)
print(f"results ready after {time.perf_counter() - NOTEBOOK_T0:.0f} s")

# %% [markdown]
# ## 2. The data and the augmentation that stands in for AugMix
# The digits' raw grey levels are 0-16, so epsilon on the [0, 1] scale is epsilon x 16 raw levels
# (epsilon 0.1 = 1.6 levels). AugMix and RandAugment mean little at 8 x 8; DOM_DA here draws a random
# roll of up to one pixel, Gaussian noise (sd 0.15) and 15 % pixel dropout.

# %%
x_tr, y_tr, x_te, y_te = digits_split()
print(f"train {x_tr.shape}, test {x_te.shape}, class shares train/test max difference "
      f"{np.abs(np.bincount(y_tr) / len(y_tr) - np.bincount(y_te) / len(y_te)).max():.4f}")
aug = np.asarray(augment(jax.random.PRNGKey(0), jnp.asarray(x_tr[:6]), scale.base))
fig, axes = plt.subplots(2, 6, figsize=(8, 3))
for i in range(6):
    axes[0, i].imshow(x_tr[i].reshape(8, 8), cmap="gray_r")
    axes[1, i].imshow(aug[i].reshape(8, 8), cmap="gray_r")
    for ax in axes[:, i]:
        ax.axis("off")
axes[0, 0].set_title("digits", fontsize=8, loc="left")
axes[1, 0].set_title("one augmentation draw", fontsize=8, loc="left")
plt.show()

# %% [markdown]
# ## 3. The attacks, checked against a closed form
# For a linear classifier with margin y (w . x + b) the worst L-inf perturbation is -epsilon y sign(w),
# lowering the margin by epsilon ||w||_1; FGSM (step epsilon) and PGD (from a random start) find it.

# %%
w = jax.random.normal(jax.random.PRNGKey(1), (64,))
x = jax.random.uniform(jax.random.PRNGKey(2), (5, 64), minval=0.3, maxval=0.7)
y = jnp.array([1.0, -1.0, 1.0, 1.0, -1.0])
loss = lambda z: jax.nn.softplus(-y * (z @ w))
best = closed.linear_worst_case(w, x, y, 0.1)
for name, adv in (("FGSM", adversarial.fgsm(loss, x, jax.random.PRNGKey(3), 0.1)), ("PGD-10", adversarial.pgd(loss, x, jax.random.PRNGKey(4), 0.1, 10))):
    print(f"{name}: max |x_adv - closed form| = {float(np.abs(np.asarray(adv) - best).max()):.2e}")

# %% [markdown]
# ## 4. Three paradigms, one signature
# Per-epoch test accuracy, PGD-20 robust accuracy (128 test digits) and the share of training samples
# with natural loss below T. Under 30 % label noise, test accuracy peaks early and declines as the
# noisy labels are fitted; the low-loss share climbs and jumps once more at the first LR decay (epoch
# 50), where test accuracy does not fall further, so the D2 timing claim is declared not reproduced.
# PGD-5 AT at epsilon 0.1 loses only 2-3 points of robust accuracy (weak robust overfitting), and FGSM
# training without random start does not collapse at this size (no catastrophic overfitting).

# %%
show(curves.paradigm_figure({k: v for k, v in evidence.items()}, FIG_DIR / "paradigms.png"))

# %% [markdown]
# ## 5. DOM under label noise, and the augment-all control
# DOM_DA augments only the confident samples after K; the control augments every sample after K.
# The control is reported as measured, whichever way it goes: on this stress test it fits almost no
# noisy labels and beats DOM_DA, as in the fact sheet's pilot.

# %%
noise = evidence["noise"]
show(curves.dom_figure(noise, FIG_DIR / "dom.png"))
for v in noise["variant"].values:
    run = noise.sel(variant=v)
    print(f"{METHODS[int(v)]:>12}: last test acc {100 * float(run['last_acc'].mean()):.1f} %, "
          f"noisy labels fitted {100 * float(run['noisy_fit_last'].mean()):.1f} %")

# %% [markdown]
# ## 6. Persistence of the high-confidence groups, and detection from natural loss
# The persistence run removes the 'original' (confident at K) and 'transformed' (confident at the
# removal epoch, not at K) groups; the paper finds the transformed ones keep their low loss. In PGD
# AT, ranking the training samples by natural and by adversarial loss gives nearly the same most
# confident decile (Sec. 4).

# %%
show(ranking.persistence_figure(noise, FIG_DIR / "persistence.png"))
show(ranking.overlap_figure(evidence["pgd"], FIG_DIR / "overlap.png"))

# %% [markdown]
# ## 7. The claims of `rote verify over-memorization`

# %%
verdicts = [claim(evidence) for claim in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook ran in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
