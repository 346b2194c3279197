"""Study `grokking`: memorization and generalization on label-corrupted modular arithmetic.

Doshi, Das, He, Gromov, "To grok or not to grok" (arXiv 2310.13061), with Gromov's analytic solution
(arXiv 2301.02679). Parameters in params.py, the models in model.py (the default's hand-written
gradient in gradient.py), training in run.py (metrics.py, pruning.py), summaries in analysis.py, sizes
and named cells in scales.py, the checked claims in claims.py; decisions and pilots in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, params, run, scales

STUDY = Study(
    name="grokking",
    params_type=params.GrokkingParams,
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
