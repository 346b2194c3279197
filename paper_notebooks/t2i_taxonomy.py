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
# # (Un)intended memorization in text-to-image models: an element-level taxonomy audit
#
# Naseh, Roh, Houmansadr, *Understanding (Un)Intended Memorization in Text-to-Image Generative Models*
# (arXiv 2312.07550) split memorization by what the user expects: explicit intended (ME, the named entity),
# implicit intended (MI, unnamed features the prompt's words carry in training) and unintended (MU, a training
# image or a private part of one). The tension: an under-represented entity can only be drawn by copying its few
# images. Rebuilt on the small text-to-image diffusion model shared with `t2i-duplication` (bag-of-words encoder,
# FiLM MLP denoiser, DDIM with guidance) trained on procedural 8 x 8 images with element families whose presence
# a closed-form detector decides (max normalised cross-correlation, thresholds calibrated on fresh images):
# named glyphs on n_ctx backgrounds, scene words with an unnamed feature at probability q, private stamps in s
# images, whole-image duplicates with generic captions. Code: `sims/studies/t2i_taxonomy/`, `sims/elements.py`,
# the anchors `theory/t2i_taxonomy.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import numpy as np

from rote.figures import t2i_taxonomy as figs
from rote.figures._common import show
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.t2i_taxonomy import STUDY
from rote.sims.studies.t2i_taxonomy.analysis import rate_table
from rote.sims.studies.t2i_taxonomy.claims import claims
from rote.sims.study import Evidence
from rote.theory import t2i_taxonomy as tt

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="t2i-taxonomy-figures-"))

# %% [markdown]
# ## 1. The two anchors on paper
#
# The ideal memorizer (the empirical denoiser over the pairs sharing the prompt's distinguishing word) returns a
# training image every time: ME = 1 and image-level MU = 1 for a glyph, whatever n_ctx. The ideal generalizer samples
# the true attribute distribution: ME = 1, MI = q, MU = 0. A trained model sits between the two lines.

# %%
for n, d in [(1, 16), (16, 1)]:
    r = tt.glyph(n, d)
    print(f"glyph n_ctx={n} d={d}: memorizer {r['memorizer']['ME']:.0f} ME / {float(r['memorizer']['MU']):.0f} MU, "
          f"generalizer {r['generalizer']['ME']:.0f} ME / {float(r['generalizer']['MU']):.0f} MU")
s = tt.scene(np.array([0.5, 0.9, 1.0]), np.array([0, 1, 8]), n=24)
print("scene q = 0.5 / 0.9 / 1: generalizer MI", s["generalizer"]["MI"], "MA", s["generalizer"]["MA"],
      "; memorizer stamp rate for s = 0 / 1 / 8:", s["stamp_memorizer"].round(3))

# %% [markdown]
# ## 2. The trained model (quick results if saved, else the smoke scale in memory)

# %%
scale, evidence = results.quick_or_smoke(STUDY)
main = figs._ready(evidence["main"])
print("element thresholds tau (seed mean):", dict(zip(main["element_name"].values, main["tau"].mean([d for d in main["tau"].dims if d != "element"]).values.round(2))))
print(f"fresh images firing (max over elements) {float(main['fire'].max()):.3f}; tau_img {float(main['tau_img'].mean()):.3f}; "
      f"results ready after {time.perf_counter() - NOTEBOOK_T0:.0f} s")
for row, cols in rate_table(main, figs.MAIN_W if figs.MAIN_W in main["w"].values else float(main["w"].values[0])).items():
    print(f"{row:22s} " + "  ".join(f"{c} {m:.2f} [{lo:.2f}, {hi:.2f}]" for c, (m, lo, hi) in cols.items() if np.isfinite(m)))

# %%
paths = figs.make_all(evidence, FIG_DIR)
for p in paths:
    show(p)

# %% [markdown]
# ## 3. Claims T1-T7, each with its tolerance (T6 is our hypothesis, not the paper's)

# %%
verdicts = [c(Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook done in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
