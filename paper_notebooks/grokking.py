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
# # To grok or not to grok: memorization and generalization on corrupted modular arithmetic
#
# Doshi, Das, He, Gromov (arXiv 2310.13061), with Gromov's analytic solution (arXiv 2301.02679),
# rebuilt at `quick` scale (p 47, N 192, 1000 steps; minutes on a laptop CPU).
#
# The task: all pairs (m, n) with label (m + n) mod p; a fraction alpha of the p^2 pairs is used for
# training, and a fraction xi of the training labels is replaced by random labels. The network is
# f(m, n) = W (U e_m + V e_n)^2, trained full-batch with AdamW on MSE.
#
# The story in eight steps (the first sweep below also computes each run's pruning curves,
# `prune_curves=1`, used in step 5):
# 1. a network that solves the task *exists in closed form* (periodic weights, Eq. 2);
# 2. trained networks find it and **generalize while memorizing** the corrupted labels (Coexistence);
# 3. weight decay makes them **unlearn** the corrupted labels: Partial, then Full Inversion, in two
#    stages (grok first, unlearn second);
# 4. the per-neuron IPR separates periodic (generalizing) neurons from memorizing ones;
# 5. pruning proves it: removing the low-IPR neurons erases the memorized labels and keeps the
#    generalization, removing the high-IPR ones does the opposite, and a random order does neither;
# 6. every regularizer removes memorization its own way: dropout like weight decay, BatchNorm by
#    damping the memorizing neurons instead of removing them;
# 7. other architectures and losses (ReLU, cross-entropy, a 3-layer MLP, a transformer) show it too;
# 8. the phase diagram.

# %%
import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt
import numpy as np

from rote.sims import engine
from rote.sims.params import replace
from rote.sims.stats import spearman
from rote.sims.studies.grokking import STUDY, scales
from rote.theory import grokking as theory

P, N = 47, 192
base = scales.quick_scale().base
print(base)

# %% [markdown]
# ## 1. The analytic solution
# Gromov's weights put one Fourier frequency on each neuron with random phases. Summed over neurons,
# only the term cos(2 pi sigma (m + n - q)/p) adds coherently. With amplitude A = (2/N)^(1/3) (the
# paper prints the exponent with the wrong sign) the correct logit is 1 and the wrong ones are noise
# of std 2/sqrt(N); sympy derives both numbers:

# %%
mean, variance = theory.noise_bookkeeping()
print("per-neuron coherent term E[X] =", mean, "; noise variance, frequency-averaged =", theory.frequency_averaged_variance())
for width in (P // 2, P, 2 * P, 4 * P):
    stats = theory.solution_statistics(P, width, draws=5)
    print(f"N = {width:4d}: accuracy {100 * stats['accuracy'].mean():5.1f}%  correct logit {stats['correct_logit'].mean():.3f}  "
          f"wrong std*sqrt(N)/2 {stats['wrong_std_scaled'].mean():.3f}")
U, V, W = theory.periodic_solution(P, N)
print("IPR of the analytic neurons (rfft convention):", float(np.nanmean(theory.neuron_ipr(U, V, W))))

# %% [markdown]
# ## 2-3. Coexistence, Partial and Full Inversion (the paper's Figure 1)
# At p 47 the cell alpha 0.9, xi 0.35 plays the role of the paper's alpha 0.5, xi 0.35 at p 97; weight
# decay about half the p 97 values has the same effect. One vectorised sweep runs
# the three runs together:

# %%
ds = engine.sweep(STUDY, replace(base, prune_curves=1), {"alpha": (0.9,), "xi": (0.35,), "weight_decay": (0.0, 5.0, 10.0)}, None, progress=False)
level = float(theory.full_inversion_train_accuracy(0.35, P))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
for ax, wd in zip(axes, ds.weight_decay.values):
    run = ds.sel(alpha=0.9, xi=0.35, weight_decay=wd)
    for var, label in (("train_acc", "train"), ("test_acc", "test"), ("corrupt_acc", "corrupted (noisy label)"), ("corrupt_true_acc", "corrupted (true label)")):
        ax.plot(run.step, 100 * run[var], label=label)
    ax.axhline(100 * level, ls="--", c="k", lw=1, label="full inversion 100(1-xi+xi/p)%")
    ax.set_title(f"wd {wd:g}: {theory.Phase(int(run.phase)).label}")
    ax.set_xlabel("optimizer step")
axes[0].set_ylabel("accuracy (%)")
axes[0].legend(fontsize=7)
fig.suptitle("p 47, N 192, alpha 0.9, xi 0.35: memorization and generalization coexist; weight decay unlearns")
plt.show()

for wd in ds.weight_decay.values:
    run = ds.sel(alpha=0.9, xi=0.35, weight_decay=wd)
    print(f"wd {wd:4.1f}: {theory.Phase(int(run.phase)).label:17s} train {100 * float(run.final_train_acc):5.1f}%  "
          f"test {100 * float(run.final_test_acc):5.1f}%  corrupted {100 * float(run.final_corrupt_acc):5.1f}%  "
          f"(full inversion level {100 * level:.1f}%)")

# %% [markdown]
# Without weight decay the network fits every corrupted label *and* generalizes. With weight decay
# it first fits them (train accuracy near 100 %), then drops them: train accuracy falls toward
# 100(1 - xi + xi/p) % while test accuracy stays at 100 %, and the corrupted examples are predicted
# with their *true* labels.

# %% [markdown]
# ## 4. Which neurons memorize? Inverse participation ratio
# IPR of a neuron's Fourier spectrum is 1 for a single frequency and about 0.08 for a random row at
# p 47. The Coexistence network is bimodal: periodic neurons (IPR near 1) implement the analytic
# solution, a second population with random-looking weights (IPR near the Gaussian value) stores the
# corrupted labels. Weight decay removes that population.

# %%
gauss = theory.reference_ipr(P, "gaussian", rows=2000)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharey=True)
for ax, wd in zip(axes, ds.weight_decay.values):
    ipr = ds.ipr.sel(alpha=0.9, xi=0.35, weight_decay=wd).values
    ax.hist(ipr[np.isfinite(ipr)], bins=np.linspace(0, 1, 21), color="C0")
    ax.axvline(gauss, c="r", ls="--", label=f"Gaussian row ({gauss:.3f})")
    ax.set_title(f"wd {wd:g}: {100 * np.mean(ipr < 0.2):.0f}% of neurons with IPR < 0.2")
    ax.set_xlabel("per-neuron IPR")
axes[0].set_ylabel("neurons")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# ### The two stages, timed
# `summarize` reads three times off every run's curves: the first step with train accuracy >= 95 %
# (fit), with test accuracy >= 90 % (grokked), and the first step after its peak where the corrupted
# subset's accuracy is < 10 % (unlearned; never, without weight decay):

# %%
for wd in ds.weight_decay.values:
    run = ds.sel(alpha=0.9, xi=0.35, weight_decay=wd)
    print(f"wd {wd:4.1f}: train 95% at step {float(run.t_train95):5.0f}, test 90% at {float(run.t_test90):5.0f}, "
          f"corrupted < 10% at {float(run.t_unlearn):5.0f}  (NaN = never)")

# %% [markdown]
# ## 5. Pruning shows which neurons do what
# Each run also prunes its final network, without retraining: neurons are removed cumulatively in
# order of their IPR (lowest first, or highest first) or in 5 random orders (a control the paper
# lacks). In the Coexistence net, removing the low-IPR neurons erases the memorized labels
# (corrupted-subset accuracy falls to chance, train accuracy to 100(1 - xi) %) while test accuracy
# stays; removing the high-IPR neurons destroys generalization and keeps the memorized labels;
# random order degrades both together.

# %%
co = ds.sel(alpha=0.9, xi=0.35, weight_decay=0.0)
frac = np.arange(N) / N
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
for ax, (order, title) in zip(axes, (("low", "lowest IPR first"), ("high", "highest IPR first"), ("random", "random order (mean of 5)"))):
    for var, label in (("train_acc", "train"), ("test_acc", "test"), ("corrupt_acc", "corrupted"), ("clean_acc", "uncorrupted")):
        ax.plot(frac, 100 * co[f"prune_{order}_{var}"], label=label)
    ax.set_title(f"Coexistence net: {title}")
    ax.set_xlabel("fraction of neurons pruned")
axes[0].set_ylabel("accuracy (%)")
axes[0].legend(fontsize=8)
plt.show()
for order in ("low", "high", "random"):
    k = int(round(0.5 * N))
    print(f"{order:6s} first, half the neurons pruned: test {100 * float(co[f'prune_{order}_test_acc'][k]):5.1f}%  "
          f"corrupted {100 * float(co[f'prune_{order}_corrupt_acc'][k]):5.1f}%")

# %% [markdown]
# ## 6. Regularizers remove memorization
# **Dropout** (on the hidden pre-activation, before the square) acts like weight decay: it pushes the
# neurons toward periodic weights and the net inverts. **BatchNorm** after the square does not remove
# the low-IPR neurons; it learns per-neuron scales |gamma| that are small exactly for them (paper
# Fig. 5), pruning them from data. Both runs below are one vectorised sweep each.

# %%
drop = engine.sweep(STUDY, replace(base, regularizer="dropout", prune_curves=0),
                    {"alpha": (0.9,), "xi": (0.35,), "dropout": (0.3, 0.6)}, None, progress=False)
for q in drop.dropout.values:
    run = drop.sel(alpha=0.9, xi=0.35, dropout=q)
    print(f"dropout {q:.1f} (wd 0): {theory.Phase(int(run.phase)).label:17s} train {100 * float(run.final_train_acc):5.1f}%  "
          f"test {100 * float(run.final_test_acc):5.1f}%  corrupted {100 * float(run.final_corrupt_acc):5.1f}%  "
          f"neurons with IPR < 0.2: {100 * float((run.ipr < 0.2).mean()):.0f}%")

no_reg = engine.sweep(STUDY, replace(base, prune_curves=0), {"alpha": (0.9,), "xi": (0.35,)}, None, progress=False).sel(alpha=0.9, xi=0.35)
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharex=True)
for ax, (q, run) in zip(axes, [(0.0, no_reg)] + [(q, drop.sel(alpha=0.9, xi=0.35, dropout=q)) for q in drop.dropout.values]):
    ax.hist(run.ipr.values, bins=np.linspace(0, 1, 21), edgecolor="black", lw=0.5)
    ax.set_title(f"dropout {q:.1f}: {theory.Phase(int(run.phase)).label}", fontsize=9)
    ax.set_xlabel("per-neuron IPR")
axes[0].set_ylabel("neurons")
plt.show()

bn_base, _ = scales.quick_scale().sweeps()["batchnorm"]
bn = engine.sweep(STUDY, bn_base, {"alpha": (0.9,), "xi": (0.2,)}, None, progress=False).sel(alpha=0.9, xi=0.2)
ipr, gamma = bn.ipr.values, bn.bn_gamma.values
fig, ax = plt.subplots(figsize=(5, 3.4))
ax.scatter(ipr, gamma, s=6)
ax.set_yscale("log")
ax.set_xlabel("per-neuron IPR")
ax.set_ylabel("|gamma| (BatchNorm scale)")
ax.set_title(f"BatchNorm, batch 64: Spearman rho = {spearman(ipr, gamma):.2f}")
plt.show()
print(f"BatchNorm: {theory.Phase(int(bn.phase)).label}, train {100 * float(bn.final_train_acc):.1f}%, test {100 * float(bn.final_test_acc):.1f}%; "
      f"median |gamma| {np.median(gamma[ipr < 0.2]):.3f} (IPR < 0.2) vs {np.median(gamma[ipr > 0.7]):.3f} (IPR > 0.7)")

# %% [markdown]
# At p 47 BatchNorm at batch 64 damps the memorizing neurons (rank correlation well above 0.5) but
# leaves enough of them to stop short of Full Inversion: Partial Inversion here, and Coexistence (train
# about 98 %) in the paper's Figure 5 cell, alpha 0.65, xi 0.2, where the paper's p 97 run inverts (claim
# 8b, declared not reproduced at this scale). The batch size
# matters: the paper's BatchNorm panels scale steps and learning rate with the batch (same epochs,
# lr 0.01 sqrt(bs / 256)), and smaller, noisier batches unlearn more of the corrupted labels.

# %%
for bs in (8, 256):
    bn_bs_base = scales.minibatch_base(replace(base, regularizer="batchnorm"), bs, 1000)  # the paper's Fig. 3 BatchNorm rule
    run = engine.sweep(STUDY, bn_bs_base, {"alpha": (0.9,), "xi": (0.2,)}, None, progress=False).sel(alpha=0.9, xi=0.2)
    print(f"BatchNorm, batch {bs:3d} ({bn_bs_base.steps} steps, lr {bn_bs_base.lr:.4f}): {theory.Phase(int(run.phase)).label:17s} "
          f"train {100 * float(run.final_train_acc):5.1f}%  test {100 * float(run.final_test_acc):5.1f}%  corrupted {100 * float(run.final_corrupt_acc):5.1f}%")

# %% [markdown]
# Minibatch noise alone also moves the phases (`rote figures grokking` draws the dropout, BatchNorm
# and minibatch phase diagrams and the IPR histograms per dropout rate).

# %% [markdown]
# ## 7. Other architectures and losses
# The picture is not special to the quadratic net. Each variant is one static field of the same
# parameters (`model` mlp2 / mlp3 / transformer, `activation`, `loss`), so the same engine sweeps it.
# A ReLU two-layer net needs more regularization (paper App. N): without weight decay it memorizes,
# with enough it inverts. The quick panels `relu`, `cross_entropy`, `mlp3` and `transformer` draw the
# full diagrams (`architecture_*.png`) and claims 10-13 check them.

# %%
relu_base, _ = scales.quick_scale().sweeps()["relu"]
relu = engine.sweep(STUDY, relu_base, {"alpha": (0.9,), "xi": (0.35,), "weight_decay": (0.0, 10.0)}, None, progress=False)
for wd in relu.weight_decay.values:
    run = relu.sel(alpha=0.9, xi=0.35, weight_decay=wd)
    print(f"ReLU, wd {wd:4.1f}: {theory.Phase(int(run.phase)).label:17s} train {100 * float(run.final_train_acc):5.1f}%  "
          f"test {100 * float(run.final_test_acc):5.1f}%  corrupted {100 * float(run.final_corrupt_acc):5.1f}%  mean input-layer IPR {float(run.ipr.mean()):.2f}")

# %% [markdown]
# ## 8. The phase diagram, one slice
# Sweeping alpha and weight decay at xi 0.35 (18 runs in one vectorised sweep) shows the phases of
# the paper's Figure 3: Memorization at small alpha, Coexistence without regularization, Partial and
# Full Inversion as weight decay grows, Forgetting at the largest weight decay. The full quick grid
# and its checked claims are `rote reproduce --scale quick`.

# %%
grid = engine.sweep(STUDY, base, {"alpha": (0.5, 0.7, 0.9), "xi": (0.35,), "weight_decay": (0.0, 2.5, 5.0, 7.5, 10.0, 15.0)}, None, progress=False)
table = grid.phase.sel(xi=0.35)
print("rows alpha, columns weight decay", list(grid.weight_decay.values))
for a in grid.alpha.values:
    print(f"alpha {a:.1f}: " + " | ".join(f"{theory.Phase(int(x)).label:17s}" for x in table.sel(alpha=a).values))
assert theory.Phase.FULL_INVERSION in set(table.values.ravel().tolist()), "expected Full Inversion somewhere in this slice"
