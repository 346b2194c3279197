"""Study `over-memorization`: natural, robust and catastrophic overfitting and DOM on 8 x 8 digits.

Lin, Yu, Han, Liu, "On the Over-Memorization During Natural, Robust and Catastrophic Overfitting"
(ICLR 2024, arXiv 2310.08847). Parameters in params.py, the networks in model.py, DOM and the
augmentation in dom.py, data and training in run.py (attacks: ``rote.sims.adversarial``), summaries in
analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import OverMemParams

STUDY = Study(
    name="over-memorization",
    params_type=OverMemParams,
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
