"""Figures of the `over-memorization` study (Lin, Yu, Han, Liu, ICLR 2024, arXiv 2310.08847).

``make_all(evidence, out_dir)`` reads {panel: Dataset} with the panels 'noise' (variant, seed), 'clean'
(variant, seed), 'pgd' (variant, seed) and 'fgsm' (step_ratio, seed), each summarized by
``rote.sims.studies.over_memorization.analysis.summarize`` (any panel may be missing), and writes:
  paradigms.png    per-epoch test / robust accuracy and the over-memorization share, per paradigm (curves.py)
  dom.png          DOM_RE and DOM_DA vs the baseline and the augment-all control under label noise (curves.py)
  persistence.png  mean loss of the original and transformed high-confidence groups, removed or kept (ranking.py)
  overlap.png      natural vs adversarial loss ranks of the training samples and the top-decile overlap (ranking.py)
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .curves import dom_figure, paradigm_figure
from .ranking import overlap_figure, persistence_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "acc_gap" in v}
    paths = []
    if ev:
        paths.append(paradigm_figure(ev, out_dir / "paradigms.png"))
    if "noise" in ev:
        paths.append(dom_figure(ev["noise"], out_dir / "dom.png"))
        paths.append(persistence_figure(ev["noise"], out_dir / "persistence.png"))
    if "pgd" in ev:
        paths.append(overlap_figure(ev["pgd"], out_dir / "overlap.png"))
    return paths
