"""Figures of the `mha-capacity` study (memorization by one multi-head attention layer).

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers" (ICLR 2024,
arXiv 2306.02010). ``make_all(evidence, out_dir)`` reads ``{panel: Dataset}`` (panels 'heads' (H),
'context' (n), 'head_dim' (d_h), 'heads_random' (H, random contexts); each with axes T, seed, lr and the
variables of ``analysis.summarize``; any panel may be missing) and writes:
  capacity.png, capacity_memorized.png   T99 and M vs H, n and d_h beside the construction bound
                        H(min(n,d_h)-1)+1 and the Dana-Pydi-Chevaleyre count H d_h + d (Fig. 2; capacity.py)
  memorized_vs_T.png    chance-corrected memorized count and training accuracy vs T, one curve per H (capacity.py)
  saturation.png        largest attention weight per (example, head) after training vs at init, the
                        saturated fraction vs T, and how many heads saturate per example (saturation.py)
  construction.png      the constructive proof of Theorem 1 in float64: rank(Z) and max|Z^T v - y| vs T
                        (construction.py)
  assumptions.png       Assumptions 1-2 vs General Position (Table 1, Fig. 1): Kruskal-rank pass fraction
                        vs k and per-example context rank on three input settings plus controls (assumptions.py)
Every bound drawn comes from ``rote.theory.mha_capacity``.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .assumptions import assumption_figure
from .capacity import capacity_figure, memorized_vs_T
from .construction import construction_figure
from .panels import PANELS, with_seed_stats
from .saturation import saturation_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths.

    evidence: {panel name: summarized Dataset}; missing or None panels are skipped (a figure whose
    panels are all missing is not written; the construction and assumption figures need no results).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: with_seed_stats(v) for k, v in (evidence or {}).items()
          if isinstance(v, xr.Dataset) and "capacity" in v and "T" in v.dims}
    paths = []
    if any(name in ev for name, _, _ in PANELS) or "heads_random" in ev:
        paths.append(capacity_figure(ev, out_dir / "capacity_memorized.png", measure="max_memorized"))
        paths.append(capacity_figure(ev, out_dir / "capacity.png", measure="capacity"))
    heads_name = "heads" if "heads" in ev else "heads_random" if "heads_random" in ev else None
    if heads_name is not None:
        paths.append(memorized_vs_T(ev[heads_name], out_dir / "memorized_vs_T.png", heads_name))
        paths.append(saturation_figure(ev[heads_name], out_dir / "saturation.png", heads_name))
    paths.append(construction_figure(out_dir / "construction.png"))
    paths.append(assumption_figure(out_dir / "assumptions.png"))
    return paths
