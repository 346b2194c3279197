"""Study `selm`: symmetric encryption with a language model (SELM) and its empirical IND-CPA game.

Stevens and Su, "Memorization for Good: Encryption with Autoregressive Language Models" (arXiv 2305.10445):
a message is encrypted as theta_d in R^d that, mapped by a keyed Fastfood projection into the weights of a
frozen public LM, makes greedy decoding reproduce it. Parameters in params.py, the public model, messages
and decryption in model.py, encryption in run.py, the game's attackers in game.py, summaries in
analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import SelmParams

STUDY = Study(
    name="selm",
    params_type=SelmParams,
    run=run.run,
    scales=scales.SCALES,
    metric_dims=run.METRIC_DIMS,
    coords=run.coords,
    divergence_metrics=run.DIVERGENCE_METRICS,
    summarize=analysis.summarize,
    bytes_per_config=run.bytes_per_config,
    flops_per_config=run.flops_per_config,
    claims=claims.claims,
)
