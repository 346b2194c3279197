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
# # How many examples does one multi-head attention layer memorize?
#
# Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers"
# (ICLR 2024, arXiv 2306.02010), rebuilt with the `quick` scale's saved results when they exist
# (`rote sweep mha-capacity --scale quick`: d = D = 16, n = 8, C = 10 classes; minutes on a laptop CPU),
# otherwise with a smoke-sized sweep run here in about a minute. The study's code:
# `sims/studies/mha_capacity/`, `theory/mha_capacity.py`.
#
# Example t is a query vector e(t) in R^d and a context E(t) in R^{n x d} (n rows x_1..x_n). Head h
# attends with a(t) = softmax(E(t) W_h e(t)), W_h = W_K^h (W_Q^h)^T of rank <= d_h, and the layer
# outputs f(t) = sum_h v_h^T E(t)^T a_h(t) (value dimension 1 per head).
#
# The story in six steps:
# 1. the bound: H heads of dimension d_h memorize T = H(min(n, d_h) - 1) + 1 examples (Theorem 1);
# 2. the proof is a construction: we build the weights in float64 and they fit exactly T = bound
#    arbitrary labels;
# 3. with one shared context the stacked head outputs have rank <= H(n - 1) + 1 for *any* weights,
#    so the construction is tight there, but this does not cap what *training* W_Q, W_K can memorize;
# 4. the theorem's assumptions: General Position fails on realistic inputs, Assumptions 1-2 hold;
# 5. trained capacity: how a search over T finds it, versus H, n and d_h beside the bound, and softmax
#    saturation at capacity;
# 6. the claims of `rote verify mha-capacity`, applied to the evidence.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import numpy as np
import sympy as sp

from rote.figures._common import show
from rote.figures.mha_capacity import assumptions as assumption_figs
from rote.figures.mha_capacity import capacity as capacity_figs
from rote.figures.mha_capacity import construction as construction_figs
from rote.figures.mha_capacity import panels as fig_panels
from rote.figures.mha_capacity import saturation as saturation_figs
from rote.figures.mha_capacity import search as search_figs
from rote.sims import cli, engine, results
from rote.sims.params import replace
from rote.sims.studies.mha_capacity import STUDY
from rote.sims.studies.mha_capacity.claims import claims
from rote.sims.studies.mha_capacity.scales import quick_scale, smoke_scale
from rote.sims.study import param_value
from rote.theory import mha_capacity as theory

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="mha-capacity-figures-"))
quick = quick_scale()
base = quick.base
print(base)


# %% [markdown]
# ## 1. The layer and the bound
# Theorem 1 (v3): under Assumptions 1-2 (section 4) and n < d, an H-head layer memorizes
# T = H(min(n, d_h) - 1) + 1 examples with Theta(H d (d_h + d_v)) parameters. Head dimensions beyond n
# add nothing. The higher anchor (Dana, Pydi, Chevaleyre 2024) counts H d_h + d associations for an
# attention-only language model with a skip connection, with no n <= d restriction.

# %%
bound = theory.capacity_bound()
print("Theorem 1 bound           T =", bound)
print("  at d_h = n + 3:         T =", sp.simplify(bound.subs(theory.d_h, theory.n + 3)), " (no gain from d_h > n)")
print("shared-context rank bound   rank(Z) <=", theory.shared_rank_bound())
print("Dana-Pydi-Chevaleyre        T =", theory.dpc_bound())
print("parameters, bare layer     ", theory.bare_layer_params())
print("parameters, official model ", theory.official_params())
print()
print(f"quick scale: n = {base.n}, d_h = {base.d_h}, d = {base.d}")
for H in (1, 2, 4, 8):
    print(f"  H = {H}: bound {theory.capacity_bound_value(H, base.n, base.d_h):3d}   H d_h + d = "
          f"{theory.dpc_bound_value(H, base.d_h, base.d):3d}   trainable parameters of the official model "
          f"{theory.official_params_value(H=H, p=base.d, D=base.D, d_h=base.d_h, C=base.C)}")

# %% [markdown]
# ## 2. The construction memorizes exactly T = bound arbitrary labels
# The proof (Sec. 4): head 1 places the first r = min(n, d_h) examples by solving for their
# attention logits; every further head places r - 1 new examples with a rank-(r - 1) matrix W*, plus
# a rank-one term c u v^T with v orthogonal to the new queries, which drives every *old* example's
# attention into saturation (one-hot on a fixed token) so the old columns of
# Z = [E(t)^T a_1(t); ...; E(t)^T a_H(t)] stop depending on the new head. Then rank(Z) = T and the
# value vector v solves Z^T v = y. In float64, for shared and random contexts:

# %%
rng = np.random.default_rng(0)
print(" context  H   n  d_h  T=bound  rank(Z)  max|Z^T v - y|  cond(Z)   rank W_h   smallest old-example top weight")
for context in ("fixed", "random"):
    for H, n, d_h in ((1, 4, 16), (3, 4, 16), (4, 8, 4), (8, 8, 16), (8, 12, 16)):
        T = theory.capacity_bound_value(H, n, d_h)
        q, E, _ = theory.synthetic_data(T, n, 16, rng, context)
        y = rng.standard_normal(T)  # arbitrary real labels
        out = theory.construct(q, E, y, H, d_h, rng)
        print(f" {context:7s} {H:2d} {n:3d} {d_h:4d} {T:8d} {out['rank']:8d} {out['residual']:15.1e} {out['cond']:8.1e}"
              f"   max {out['rank_W'].max():2d} <= {d_h:<3d} {out['min_saturation']:.12f}")

# %% [markdown]
# Beyond the bound the extra examples are placed by no head. With a shared context they cannot be
# fit (the residual jumps), with random contexts Z can still have full column rank:

# %%
show(construction_figs.construction_figure(FIG_DIR / "construction.png"))

# %% [markdown]
# ## 3. The shared-context rank bound, and why it does not cap trained capacity
# With one shared context E, every head block E^T a lies in the (n - 1)-dimensional affine hull of
# E's rows, so rank(Z) <= H(n - 1) + 1 *whatever the weights*; random weights reach it, and the next
# singular value is at round-off:

# %%
rng = np.random.default_rng(1)
print("  H   n  d_h   rank(Z)  bound H(n-1)+1  sigma_bound/sigma_1  sigma_(bound+1)/sigma_1")
for H, n, d_h in ((2, 4, 16), (4, 4, 16), (3, 6, 2), (8, 8, 16), (3, 6, 1)):
    r = theory.rank_bound_check(H, n, 16, d_h, 200, rng, "fixed")
    print(f" {H:2d} {n:3d} {d_h:4d} {r['rank']:9d} {r['bound']:15d} {r['sigma_at_bound']:20.1e} {r['sigma_after_bound']:24.1e}")
r = theory.rank_bound_check(2, 4, 16, 16, 200, rng, "random")
print(f"random contexts, H 2, n 4, d 16: rank(Z) = {r['rank']} = H d = {2 * 16} (not {r['bound']}): the bound is a shared-context one")

# %% [markdown]
# Caveats, each measured here:
# * d_h = 1 already reaches rank H(n - 1) + 1 (last row above: exponentials with distinct exponents
#   are independent), only with poor conditioning (sigma_bound / sigma_1 far smaller than at d_h = 16).
#   So min(n, d_h) is a feature of the construction, not of the function class.
# * The bound is on rank(Z) **with attention held fixed**. Training moves W_Q, W_K, and then Z depends
#   on the labels. With H = 1 and n = 2 shared context tokens, f(t) = alpha + beta sigmoid(g^T e(t)),
#   which fits d labels exactly for any d independent queries, while the bound says 2:

# %%
rng = np.random.default_rng(2)
d = 12
E = rng.uniform(0, 1, (2, d))  # one shared context, n = 2
Q = rng.uniform(0, 1, (d, d))  # T = d independent queries
y = rng.uniform(0, 1, d)  # arbitrary labels
alpha, beta = y.min() - 0.5, np.ptp(y) + 1.0
s = (y - alpha) / beta  # in (0, 1): the attention weight on x_1 each example needs
g = np.linalg.solve(Q, np.log(s / (1 - s)))  # g^T e(t) = logit(s_t)
u = (E[0] - E[1]) / np.sum((E[0] - E[1]) ** 2)  # (x_1 - x_2)^T u = 1
W = np.outer(u, g)  # logits E W e(t): their difference is g^T e(t)
v = np.linalg.lstsq(np.stack([E[1], E[0] - E[1]]), np.array([alpha, beta]), rcond=None)[0]
Z = theory.z_matrix(Q, np.broadcast_to(E, (d, 2, d)), W[None])
print(f"H = 1, n = 2, shared context, T = {d}: rank(Z) = {theory.numerical_rank(Z)} = bound "
      f"{theory.shared_rank_bound_value(1, 2)}, yet max |f(t) - y(t)| = {np.max(np.abs(Z.T @ v - y)):.1e}")

# %% [markdown]
# So trained models may memorize far more than H(n - 1) + 1 examples: the bound is an *existence*
# result for the construction (a lower bound on capacity under the assumptions), and an upper bound
# only for the linear-readout capacity with frozen attention.
#
# ## 4. The assumptions: General Position fails, Assumptions 1-2 hold
# * Assumption 1: the T queries have Kruskal rank >= n (every n of them are independent);
# * Assumption 2: every context E(t) has rank n;
# * General Position (earlier FCN memorization work): Kruskal rank d, far stronger when n << d.
#
# The paper's test draws random k-subsets of the queries and reports the fraction of full rank. We
# run it on the synthetic data (shared, random, 'perm' contexts), on token embeddings with sinusoidal
# positional encodings, and on one random-init attention layer over scikit-learn's 8x8 digits cut
# into 2x2 patches (the analogue of the paper's ViT check), plus three controls built to fail.

# %%
t0 = time.perf_counter()
data = assumption_figs.assumption_data(seed=0)
rows, skipped = data
for r in rows:
    rep = r["report"]
    print(f"{r['name'][:62]:62s} A1 {'holds' if rep['assumption1'] else 'FAILS'} ({rep['kruskal_n']:.3f} at k = n = {r['n']:2d})  "
          f"A2 {'holds' if rep['assumption2'] else 'FAILS'} (min rank {rep['context_rank_min']:2d})  "
          f"GP {'holds' if rep['general_position'] else 'FAILS'} ({rep['kruskal_d']:.3f} at k = d = {r['d']})")
for note in skipped:
    print(note)
show(assumption_figs.assumption_figure(FIG_DIR / "assumptions.png", data=data))
print(f"assumption checks: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# General Position fails on every representation that has structure (tokens from a vocabulary,
# image patches through one attention layer): their queries span only 12 of 32 and 21 of 64 dimensions
# (the table's "rank of all queries"). Kruskal rank >= n still holds, and the sinusoidal positions keep every context at rank n even
# when tokens repeat (the "tokens without PE" control loses it).
#
# ## 5. Trained capacity
# The official experiment's model (linear embedding, sinusoidal positions, H heads with d_v = 1, the
# query masked from every row, scores / sqrt(D), decoder; loss at the query only) is trained
# full-batch with Adam on T examples with random labels and shared contexts; memorization is training
# accuracy. The **capacity** of a config (H, n, d_h, seed) is the largest T whose training set it
# memorizes at 99 % training accuracy, found by a search: each probe trains fresh weights on the first
# T of T_max examples (stopping early once it memorizes); T doubles from T_start until a probe fails
# (halves until one succeeds), then the bracket [largest memorized, smallest failed) is bisected to a
# relative resolution. A search that memorized T_max, or not even T = 1, stopped at a bound: that is
# not a capacity, and it never enters a mean, a fit or a claim.
#
# If the quick sweep's saved results exist (`rote sweep mha-capacity --scale quick`, in
# `results/mha-capacity/quick` or under `$ROTE_RESULTS`), we use them. Otherwise we run a **smoke-sized**
# sweep in memory: the smoke scale's model (d = 8, n = 4, C = 2, at most 100 steps per probe, T <= 64),
# 2 seeds, three panels over H, n and d_h that share one compiled function. It shows how the figures
# read, not the paper's numbers: its trend claims are not measured or may fail.

# %%
root = results.results_dir(STUDY.name, "quick")
panels = quick.sweeps()
t0 = time.perf_counter()
if results.has_results(STUDY, "quick", root):
    evidence = results.load_for_claims(STUDY, "quick", root)
    REDUCED = False
    created = evidence["heads"].attrs.get("created", "?")
    print(f"loaded the saved quick results from {root} (created {created}, git {evidence['heads'].attrs.get('git_revision', '?')})")
    STALE = False
    for name, (panel_base, panel_axes) in panels.items():  # saved by an older version of the quick scale?
        now = engine.Grid.build(panel_base, panel_axes).fingerprint(STUDY.name)
        diff = results.config_mismatch(evidence[name].attrs.get("config"), now, STUDY.params_type)
        if diff:
            STALE = True
            print(f"  WARNING: panel '{name}' differs from the current quick scale ({diff}). "
                  "Re-run `rote sweep mha-capacity --scale quick` for current numbers.")
else:
    REDUCED, STALE = True, False
    print(f"no saved quick results in {root}: running a SMOKE-SIZED sweep in memory (2 seeds, <= 100 steps per probe, T <= 64).")
    print("This is not the quick scale: its numbers are small and its trend claims are not measured or may fail.")
    small = smoke_scale().base
    reduced_panels = {"heads": (small, {"H": (1, 2, 4)}), "context": (replace(small, H=4), {"n": (1, 2, 4)}),
                      "head_dim": (replace(small, H=4), {"d_h": (1, 2, 4, 8)})}
    evidence = {name: engine.sweep(STUDY, panel_base, {**axes, "seed": (0, 1)}, None, scale="smoke (in memory)", progress=False)
                for name, (panel_base, axes) in reduced_panels.items()}
prepared = {name: fig_panels.prepare(ds) for name, ds in evidence.items()}
print(f"trained evidence ready in {time.perf_counter() - t0:.0f} s; panels: {', '.join(evidence)}")

# %% [markdown]
# ### How the search finds a capacity
# Each panel below is one config of the heads panel: every probe's T and the best training accuracy it
# reached, numbered in the order run. Probes that memorize stop early; failed ones use the whole budget.
# With a 'budget' panel (quick scale) the last panel compares the capacities found with twice the steps
# per probe: they should lie on the identity.

# %%
heads = prepared["heads"]
show(search_figs.search_figure(prepared, FIG_DIR / "search.png"))
n0, dh0 = int(param_value(heads, "n")), int(param_value(heads, "d_h"))
print(f"shared context, n = {n0}, d_h = {dh0}, T_max = {int(param_value(heads, 'T_max'))}: capacity per seed (probes: + memorized, - failed)")
for H in heads["H"].values:
    cell = heads.sel(H=H)
    for seed in cell["seed"].values:
        one = cell.sel(seed=seed)
        used = one["probe_used"].values.astype(bool)
        trail = " ".join(f"{int(T)}{'+' if a >= 0.99 else '-'}" for T, a in zip(one["probe_T"].values[used], one["probe_acc"].values[used]))
        state = "" if bool(one["resolved"]) else " (at search bound: not a capacity)" if bool(one["at_bound"]) else " (bracket not closed)"
        print(f"  H = {int(H)}, seed {int(seed)}: capacity {int(one['shown'])}{state}, construction bound "
              f"{theory.capacity_bound_value(int(H), n0, dh0)}; probes {trail}")

# %% [markdown]
# ### Capacity versus H, n and d_h (the paper's Figure 2)
# The paper's claims: linear in H, growing with n, and no gain from d_h beyond n - 1 (shared contexts).
# Seed points and the mean of the resolved seeds with its 95 % t interval, beside the construction
# bound; the H and n panels carry the fit a + b x^beta the claims test (beta = 1 is linear; it needs
# four or more values), the d_h panel the segmented fit a + b min(d_h, k) whose breakpoint k is
# predicted in [n - 1, n].

# %%
show(capacity_figs.capacity_figure(prepared, FIG_DIR / "capacity.png"))
for name, ds in prepared.items():
    axis = next((a for a in ("H", "n", "d_h") if a in ds.dims), None)
    if axis is None or name == "budget":
        continue
    p = fig_panels.per_seed(ds, axis)
    mean, lo, hi, count = fig_panels.seed_stats(p["estimate"], p["resolved"])
    cells = ", ".join(f"{int(x)}: {m:.1f} [{a:.1f}, {b:.1f}]" if c else f"{int(x)}: none resolved"
                      for x, m, a, b, c in zip(p["x"], mean, lo, hi, count))
    print(f"{name:12s} capacity by {axis} (mean of resolved seeds [95% t]): {cells}")

# %% [markdown]
# ### Softmax saturation at capacity
# The construction works by saturating heads: each old example puts all of a later head's attention on
# one token. Do trained heads do the same? Per (example, head) of the model trained on T = capacity
# examples: the largest attention weight, and the share above 0.99, after training versus at
# initialization.

# %%
print("share of (example, head) pairs with max attention weight > 0.99 at T = capacity (resolved seeds): after training / at init")
for H in heads["H"].values:
    cell = heads.sel(H=H)
    ok = cell["resolved"].values.astype(bool)
    after = fig_panels.at_lr(cell, "saturated_fraction").values[ok]
    init = fig_panels.at_lr(cell, "saturated_fraction_init").values[ok]
    print(f"  H = {int(H)}: {np.mean(after):.2f} / {np.mean(init):.2f}" if ok.any() else f"  H = {int(H)}: no resolved seed")
show(saturation_figs.saturation_figure(heads, FIG_DIR / "saturation.png"))

# %% [markdown]
# ## 6. The claims (`rote verify mha-capacity --scale quick`)
# Two exact claims from theory (the construction in float64, the shared-context rank bound) and the
# trend claims on the trained evidence (budget, growth in H and n, the d_h breakpoint, random contexts,
# saturation), each with the tolerance stated beside the prediction.

# %%
verdicts = [claim(evidence) for claim in claims(quick)]
if REDUCED:
    print("SMOKE-SIZED in-memory sweep (not the quick scale): trend claims are not measured or may fail here")
else:
    print(f"saved quick results in {root}" + (" (an OLDER quick configuration: see the warnings in section 5)" if STALE else ""))
print(cli.format_verdicts(verdicts))
assert all(v.passed for v in verdicts[:2]), "the theory claims are exact and must pass"
print(f"notebook ran in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
