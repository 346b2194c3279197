"""Study `asr-canaries`: sped-up canaries in a small CTC speech model, per-example and per-core clipping.

Wang, Thakkar, Mathews, "Unintended Memorization in Large ASR Models, and How to Mitigate It" (arXiv
2310.11739); the follow-up on per-core clipping, Wang et al. (arXiv 2406.02004). Parameters in
params.py, the model in model.py, training in run.py, summaries in analysis.py, scales in scales.py,
claims in claims.py, lab notes in NOTES.md; the synthetic speech in ``rote.sims.speech``.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import AsrParams

STUDY = Study(
    name="asr-canaries",
    params_type=AsrParams,
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
