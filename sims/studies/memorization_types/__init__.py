"""Study `memorization-types`: one controlled probe per type of memorization in a tiny LM.

The six-type taxonomy of Hartmann et al., "SoK: Memorization in General-Purpose Large Language Models"
(arXiv 2310.18362, Sec. 3): verbatim text (canaries, Carlini et al., arXiv 1802.08232), facts, ideas and
algorithms, writing styles, distributional properties (Suri and Evans, arXiv 2109.06024) and alignment
goals, each probed on the shared tiny LM with a never-trained control, and the dependence of a behavioural
verdict on the decoder (Sec. 6). Parameters in params.py, the model in model.py, data and training in
run.py (generators in ``rote.sims.tasks``), summaries in analysis.py, scales in scales.py, claims in
claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import TypesParams

STUDY = Study(
    name="memorization-types",
    params_type=TypesParams,
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
