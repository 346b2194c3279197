"""Figures of the `asr-canaries` study (Wang, Thakkar, Mathews, arXiv 2310.11739).

``make_all(evidence, out_dir)`` reads {panel: Dataset} with the panels 'baseline', 'budget', 'pec' and
'pcc' (``rote.sims.studies.asr_canaries.scales.Cells``), each summarized by the study's
``analysis.summarize`` (any panel may be missing), and writes:
  ter_by_r.png     TER of each repetition group K_r per method and C, the held-out K_0 line (the
                   prediction for an unmemorized group) and the no-canary control (memorization.py)
  tradeoff.png     clean TER vs mean memorization per method and C (memorization.py)
  grad_norms.png   quantiles of the per-example gradient norms of clean and canary examples at the end
                   of the short and the long budget, with the swept C (calibration.py)
  cost.png         step cost of PCC and PEC relative to the baseline, from benchmarks/bench_asr.py's JSON
                   report when one exists, else the sweep's compute time per config-epoch (calibration.py)
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .calibration import cost_figure, grad_norm_figure
from .memorization import ter_figure, tradeoff_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "ter_r" in v}
    if not ev:
        return []
    return [ter_figure(ev, out_dir / "ter_by_r.png"), tradeoff_figure(ev, out_dir / "tradeoff.png"),
            grad_norm_figure(ev, out_dir / "grad_norms.png"), cost_figure(ev, out_dir / "cost.png")]
