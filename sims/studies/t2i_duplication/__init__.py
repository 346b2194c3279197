"""Study `t2i-duplication`: word-level duplication as a memorization trigger in a small text-to-image diffusion model.

Naseh, Roh, Houmansadr, "Memory Triggers: Unveiling Memorization in Text-To-Image Generative Models through
Word-Level Duplication" (arXiv 2312.03692); Somepalli et al. (arXiv 2212.03860, 2305.20086); Carlini et al.
(arXiv 2301.13188); Webster (arXiv 2305.08694); Wen et al. (arXiv 2407.21720). Parameters in params.py, the
training set and prompts in data.py, training and measurement in run.py, summaries in analysis.py, scales in
scales.py, claims in claims.py, lab notes in NOTES.md. The model is the shared ``rote.sims.diffusion``.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import T2IParams

STUDY = Study(
    name="t2i-duplication",
    params_type=T2IParams,
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
