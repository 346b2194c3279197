"""Figures of the `lm-membership` study (counterfactual memorization and membership inference).

Zhang et al. (arXiv 2112.12938, Fig. 1: mem(x) by kind of text); Carlini et al. (arXiv 2112.03570,
Fig. 1 and 8: log-log ROC of every attack; Fig. 9: TPR vs number of shadow models); Hartmann et al.
(arXiv 2310.18362, Sec. 3, E4-E5). ``make_all(evidence, out_dir)`` reads {panel: Dataset} with panels
'shadow', 'dedup' and 'negative' (axis seed = shadow model), each summarized by
``rote.sims.studies.lm_membership.analysis.summarize`` (any panel may be missing), and writes:
  memorization.png    mem(x) histograms per kind and per template family (memorization.py)
  roc.png             log-log ROC of every attack with the binormal optimum, and the negative control (roc.py)
  shadow_models.png   TPR at 1 % and 0.1 % FPR vs the number of shadow models (roc.py)
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .memorization import memorization_figure
from .roc import roc_figure, shadow_models_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "accuracy" in v}
    shadow, negative = ev.get("shadow"), ev.get("negative")
    paths = []
    if shadow is not None:
        paths.append(memorization_figure(shadow, out_dir / "memorization.png"))
        paths.append(roc_figure(shadow, negative, out_dir / "roc.png"))
        paths.append(shadow_models_figure(shadow, out_dir / "shadow_models.png"))
    return paths
