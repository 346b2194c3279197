"""Study `lm-membership`: counterfactual memorization and membership inference on shadow models of a tiny LM.

The second part of the memorization survey of Hartmann et al. (arXiv 2310.18362, Sec. 3-5; its toy
design's E4 and E5): counterfactual memorization separates rare from common text (Zhang et al., arXiv
2112.12938), and membership-inference attacks (loss, zlib, Min-K%, Min-K%++, reference model, LiRA of
Carlini et al., arXiv 2112.03570, RMIA of Zarifzadeh et al., arXiv 2312.03262) all re-read one M x N
score matrix of shadow models; the negative control follows MIMIR (Duan et al., arXiv 2402.07841).
Parameters in params.py, the model in model.py, training in run.py, summaries in analysis.py, scales in
scales.py, claims in claims.py, lab notes in NOTES.md.
"""

from ...study import Study
from . import analysis, claims, run, scales
from .params import MembershipParams

STUDY = Study(
    name="lm-membership",
    params_type=MembershipParams,
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
