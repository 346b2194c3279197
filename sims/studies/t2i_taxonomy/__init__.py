"""Study `t2i-taxonomy`: explicit intended, implicit intended and unintended memorization, element by element, in a
small text-to-image diffusion model.

Naseh, Roh, Houmansadr, "Understanding (Un)Intended Memorization in Text-to-Image Generative Models" (arXiv
2312.07550). Parameters in params.py, the element families and prompts in data.py (patterns and detectors in the
shared ``rote.sims.elements``), training and measurement in run.py, the ME / MI / MU labelling in analysis.py,
scales in scales.py, claims in claims.py, the analytic anchors in ``rote.theory.t2i_taxonomy``, lab notes in
NOTES.md. The model is the shared ``rote.sims.diffusion``.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import TaxonomyParams

STUDY = Study(
    name="t2i-taxonomy",
    params_type=TaxonomyParams,
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
