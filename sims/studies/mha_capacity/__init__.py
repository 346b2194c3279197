"""Study `mha-capacity`: how many examples one multi-head attention layer memorizes.

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers" (ICLR 2024,
arXiv 2306.02010). Parameters in params.py, the models in model.py, training in run.py, summaries in
analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import MHAParams

STUDY = Study(
    name="mha-capacity",
    params_type=MHAParams,
    run=run.run,
    scales=scales.SCALES,
    metric_dims=run.METRIC_DIMS,
    coords=run.coords,
    divergence_metrics=("probe_loss",),
    summarize=analysis.summarize,
    bytes_per_config=run.bytes_per_config,
    flops_per_config=run.flops_per_config,
    claims=claims.claims,
)
