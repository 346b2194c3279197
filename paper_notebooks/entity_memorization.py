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
# # Entity-level memorization of synthetic person records in a tiny LM
#
# Zhou, Xiang, Chen, Su, "Quantifying and Analyzing Entity-level Memorization in Large Language Models"
# (arXiv 2308.15727, AAAI 2024), rebuilt on the shared tiny decoder-only LM trained from scratch on
# mentions of synthetic persons (`rote.sims.records`): a random 5-digit phone (memorization only), a
# derivable e-mail (inference control), r in {0, 1, 2, 4, 8} mentions in varied wording, unique full
# names and ambiguous first names. Queries leak 1-3 entities (name; + city; + employer); an EME-style
# soft prompt of 8 prefix vectors is tuned on 20 % of the persons with the model frozen.
#
# Code: `sims/studies/entity_memorization/`, the records `sims/records.py`, the closed forms
# `theory/entity_memorization.py`.

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))

from rote.figures import entity_memorization as figs
from rote.figures._common import show
from rote.sims import results
from rote.sims.cli import format_verdicts
from rote.sims.studies.entity_memorization import STUDY
from rote.sims.studies.entity_memorization.claims import claims
from rote.sims.study import Evidence
from rote.theory import entity_memorization as th

NOTEBOOK_T0 = time.perf_counter()
FIG_DIR = Path(tempfile.mkdtemp(prefix="entity-memorization-figures-"))

# %% [markdown]
# ## 1. On paper: chance and the uniform-rank null
# A memoryless guess of 5 random digits matches with probability 1e-5 and per digit 0.1. A phone the
# model never saw is exchangeable with K random decoys, so its rank is uniform and its entity exposure
# averages log2 n - log2(n!)/n (n = K + 1), about log2 e = 1.44 bits. A query matching m persons can
# reach at most 1/m.

# %%
for K in (9, 99, 999):
    print(f"K = {K}: null exposure {th.null_entity_exposure(K):.3f} bits (SD {th.null_exposure_sd(K):.2f})")
print("chance exact match", th.chance_exact(), "| per digit", th.chance_digit(), "| ceiling at m = 10:", th.ambiguity_ceiling(10))

# %% [markdown]
# ## 2. Results: the quick sweep if it was run, else the smoke scale in memory (illustrative only)

# %%
scale, evidence = results.quick_or_smoke(STUDY)
main = evidence["main"]

# %% [markdown]
# ## 3. Leakage levels (EN1, EN2)
# Unique keys are identified by the name alone; ambiguous first names only once the city and the
# employer are leaked, so their exact match rises with the leakage level.

# %%
print(main["em_r"].mean("seed").sel(template="training").to_dataframe()["em_r"].unstack("r").round(2))
show(figs.leakage(main, FIG_DIR / "leakage.png"))

# %% [markdown]
# ## 4. Memorization vs inference (EN3) and ambiguity (EN4)

# %%
show(figs.inference(main, FIG_DIR / "inference.png"))
print("ambiguous queries: EM", main["ambiguous_em"].mean("seed").values.round(2), "ceiling",
      main["ambiguous_ceiling"].mean("seed").values.round(2), "candidate's phone", main["ambiguous_hit"].mean("seed").values.round(2))

# %% [markdown]
# ## 5. Soft prompt, hand-written prompt and verbatim prefix (EN5, EN7), and mitigations (EN8)

# %%
show(figs.extraction(main, FIG_DIR / "extraction.png"))
show(figs.mitigation(main, evidence.get("dedup"), evidence.get("dp"), FIG_DIR / "mitigation.png"))

# %% [markdown]
# ## 6. The claims at this scale

# %%
verdicts = [c(evidence if isinstance(evidence, Evidence) else Evidence(evidence)) for c in claims(scale)]
print(format_verdicts(verdicts))
print(f"notebook done in {time.perf_counter() - NOTEBOOK_T0:.0f} s")
