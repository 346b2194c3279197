"""Study `lexical-overlap`: lexical repetitions in training summaries lead to rote learning.

Choubey, Fabbri, Xiong, Wu, "Lexical Repetitions Lead to Rote Learning: Unveiling the Impact of Lexical
Overlap in Train and Test Reference Summaries" (arXiv 2311.09458, Findings of EMNLP 2023), with the
likelihood calibration of BRIO (Liu et al., arXiv 2203.16804). A prefix-LM summarizer trained on a
procedural news-like corpus with recurring storylines and an injected unsupported-organisation artifact
is scored per similarity bin; repetition capping (fine-tuning) and a repetition-penalized calibration
quality are the mitigations. Parameters in params.py, the model in model.py, training in run.py,
scores in analysis.py, scales in scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import OverlapParams

STUDY = Study(
    name="lexical-overlap",
    params_type=OverlapParams,
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
