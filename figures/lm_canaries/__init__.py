"""Figures of the `lm-canaries` study (canaries, exposure, extraction and DP-SGD in a tiny LM).

Carlini et al., "The Secret Sharer" (arXiv 1802.08232); Carlini et al., "Quantifying Memorization Across
Neural Language Models" (arXiv 2202.07646); Abadi et al., DP-SGD (arXiv 1607.00133); Steinke, Nasr,
Jagielski, one-run auditing (arXiv 2305.08846). ``make_all(evidence, out_dir)`` reads {panel: Dataset}
with panels 'repetition' (axes width, seed), 'dedup' (seed) and 'dp' (sigma, seed), each summarized by
``rote.sims.studies.lm_canaries.analysis.summarize`` (any panel may be missing), and writes:
  exposure_vs_r.png       final exposure vs r per width with seed bands, the null and the deduplicated runs (exposure.py)
  exposure_training.png   exposure by level along training above validation / training loss (exposure.py)
  exposure_agreement.png  exact vs skew-normal-extrapolated exposure (exposure.py)
  extraction.png          fraction extracted and memorization score vs k, per r and width (extraction.py)
  dp.png                  exposure, validation loss and both epsilons vs sigma (privacy.py)
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .common import widths
from .exposure import agreement, exposure_training, exposure_vs_r
from .extraction import extraction_figure
from .privacy import dp_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "exposure_r" in v}
    rep, dedup, dp = ev.get("repetition"), ev.get("dedup"), ev.get("dp")
    paths = []
    if rep is not None:
        base = widths(dedup)[0] if dedup is not None else widths(rep)[0]
        base = base if base in widths(rep) else widths(rep)[0]
        paths.append(exposure_vs_r(rep, dedup, out_dir / "exposure_vs_r.png"))
        paths.append(exposure_training(rep, base, out_dir / "exposure_training.png"))
        paths.append(agreement(rep, base, out_dir / "exposure_agreement.png"))
        paths.append(extraction_figure(rep, out_dir / "extraction.png"))
    if dp is not None:
        paths.append(dp_figure(dp, rep, out_dir / "dp.png"))
    return paths
