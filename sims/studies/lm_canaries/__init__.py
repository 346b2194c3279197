"""Study `lm-canaries`: canaries, exposure, extraction and DP-SGD in a tiny language model.

Carlini et al., "The Secret Sharer" (arXiv 1802.08232); Carlini et al., "Quantifying Memorization Across
Neural Language Models" (arXiv 2202.07646); the memorization survey of Hartmann et al. (arXiv
2310.18362); DP-SGD (Abadi et al., arXiv 1607.00133); one-run auditing (Steinke, Nasr, Jagielski, arXiv
2305.08846). Parameters in params.py, the model in model.py, training in run.py, summaries in
analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import CanaryParams

STUDY = Study(
    name="lm-canaries",
    params_type=CanaryParams,
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
