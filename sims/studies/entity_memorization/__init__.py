"""Study `entity-memorization`: entity-level memorization of synthetic person records in a tiny LM.

Zhou, Xiang, Chen, Su, "Quantifying and Analyzing Entity-level Memorization in Large Language Models"
(arXiv 2308.15727, AAAI 2024). Parameters in params.py, the model in model.py, training and extraction
in run.py, summaries in analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import EntityParams

STUDY = Study(
    name="entity-memorization",
    params_type=EntityParams,
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
