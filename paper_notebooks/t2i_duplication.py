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
# # Memory triggers: word-level duplication in a small text-to-image diffusion model
#
# Naseh, Roh, Houmansadr, *Memory Triggers* (arXiv 2312.03692): beyond whole-pair duplication, a repeated
# trigger word (type A) or a shared caption template over different images (type B) can make a diffusion
# model replicate training images. Rebuilt on a small text-conditioned diffusion model (bag-of-words text
# encoder with a null embedding, FiLM MLP eps-denoiser, cosine schedule, DDIM with classifier-free guidance)
# trained on procedural 8 x 8 images, with the context of Somepalli et al. (arXiv 2212.03860, 2305.20086),
# Carlini et al. (arXiv 2301.13188), Webster (arXiv 2305.08694) and Wen et al. (arXiv 2407.21720).
#
# One training set per seed holds five experiments: E1 image + caption duplicated d times, E2 image only
# (fresh captions), E3 a trigger word "zk{k}" in fresh captions, E4 M images sharing a caption template and
# a frame + logo, E5 one image with many captions sharing one word. Code: `sims/studies/t2i_duplication/`,
# the shared model `sims/diffusion.py`, the procedural images `sims/images.py`, the closed form
# `theory/diffusion.py`.

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

from rote.figures import t2i_duplication as figs
from rote.figures._common import show
from rote.sims import diffusion as dm
from rote.sims import images as im
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.t2i_duplication import STUDY
from rote.sims.studies.t2i_duplication.claims import claims
from rote.sims.study import Evidence
from rote.theory import diffusion as td

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="t2i-duplication-figures-"))

# %% [markdown]
# ## 1. The ideal memorizer on paper, through the package's sampler
#
# The denoiser that minimises the diffusion loss on the empirical distribution of the matching training pairs
# is the posterior mean, E[x0 | x_t] = sum_i w_i x_i with w_i proportional to m_i exp(-||x_t - sqrt(abar) x_i||^2
# / (2 (1 - abar))). DDIM (eta = 0) with it returns training image i with probability m_i / sum m: the
# "ideal memorizer" line (RR = 1) of every replication figure. Here with multiplicities 1, 2, 5.

# %%
abar = dm.cosine_schedule(200)
m = np.array([1.0, 2.0, 5.0])
imgs = im.low_pass(jax.random.PRNGKey(0), 3, 8).reshape(3, -1)
eps_fn = lambda x, t: (td.ideal_eps(x, abar[t], imgs, jnp.log(jnp.asarray(m))), jnp.zeros(x.shape[:-1]))  # noqa: E731
x, _ = jax.jit(lambda k: dm.ddim_sample(eps_fn, jax.random.normal(k, (1000, 192)), abar, 50))(jax.random.PRNGKey(1))
idx, cos, _ = im.nearest(x, imgs)
freq = np.bincount(np.asarray(idx), minlength=3) / 1000
print("sampled frequencies", freq.round(3), "law m / sum m", td.sampling_law(m).round(3), "min cosine", float(cos.min()))

# %% [markdown]
# ## 2. The trained model (quick results if saved, else the smoke scale in memory)

# %%
scale, evidence = results.quick_or_smoke(STUDY)
main = evidence["main"]
print(f"tau = {float(main['tau'].mean()):.3f} (99th percentile of fresh low-pass fields), tau_member = "
      f"{float(main['tau_member'].mean()):.3f}, tau_frame = {float(main['tau_frame'].mean()):.3f}; "
      f"results ready after {time.perf_counter() - NOTEBOOK_T0:.0f} s")

# %%
paths = figs.make_all(evidence, FIG_DIR)
for p in paths:
    show(p)

# %% [markdown]
# ## 3. Claims F1-F7, each with its tolerance

# %%
verdicts = [c(Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook done in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
