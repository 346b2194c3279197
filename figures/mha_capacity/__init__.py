"""Figures of the `mha-capacity` study (memorization by one multi-head attention layer).

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers" (ICLR 2024,
arXiv 2306.02010). ``make_all(evidence, out_dir)`` reads ``{panel: Dataset}`` summarized by
``analysis.summarize`` (panels 'heads' (H), 'context' (n), 'head_dim*' (d_h, one per context length n),
'budget' (H at twice the steps), 'heads_random' (H, random contexts); axes H / n / d_h, seed and
optionally lr; any panel may be missing). A config's capacity is the largest T its adaptive search
memorized at target_acc; configs whose search stopped at a bound or did not close its bracket are drawn
as open markers and never enter a mean or a fit. It writes:
  capacity.png        capacity vs H, n and d_h (both n on one axes, with the segmented fit
                      a + b min(d_h, k), its breakpoint k and the predicted band [n-1, n]) and random vs
                      shared contexts vs H: seed points, seed mean with 95 % t interval, the construction
                      bound H(min(n,d_h)-1)+1 and the claims' fit a + b x^beta with beta's CI (capacity.py)
  search.png          (search = 'bisect') the probes of three 'heads' configs (T tried vs training accuracy, the target, the
                      final bracket) and, with a 'budget' panel, capacity at twice the steps vs at the
                      scale's steps with the identity and the +-15 % band (search.py)
  memorized_vs_T.png  (search = 'fixed' on a T grid, instead of search.png) the single run's memorized
                      count and accuracy vs T; the other figures then read the largest grid T memorized (search.py)
  saturation.png      largest attention weight per (example, head) at T = capacity vs at init, the
                      saturated fraction vs H, and how many heads saturate per example (saturation.py)
  construction.png    the constructive proof of Theorem 1 in float64: rank(Z) and max|Z^T v - y| vs T
                      (construction.py)
  assumptions.png     Assumptions 1-2 vs General Position (Table 1, Fig. 1): Kruskal-rank pass fraction
                      vs k and per-example context rank on three input settings plus controls (assumptions.py)
Every bound drawn comes from ``rote.theory.mha_capacity``; every fit from the study's claims.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .._common import scalar_param
from .assumptions import assumption_figure
from .capacity import capacity_figure
from .construction import construction_figure
from .panels import prepare
from .saturation import saturation_figure
from .search import memorized_vs_T, search_figure


def make_all(evidence, out_dir: Path) -> list[Path]:
    """Write every figure the evidence allows into ``out_dir``; returns the PNG paths.

    evidence: {panel name: summarized Dataset}; missing or None panels are skipped (a figure whose
    panels are all missing is not written; the construction and assumption figures need no results).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "capacity_estimate" in v}
    ev = {k: prepare(v) for k, v in raw.items()}
    paths = []
    if any(name in ev for name in ("heads", "context", "heads_random")) or any(name.startswith("head_dim") for name in ev):
        paths.append(capacity_figure(ev, out_dir / "capacity.png"))
    heads = "heads" if "heads" in ev else "heads_random" if "heads_random" in ev else None
    if heads is not None:
        if scalar_param(raw[heads], "search") != "fixed":
            paths.append(search_figure(ev, out_dir / "search.png", heads))
        elif "T" in raw[heads].dims:
            paths.append(memorized_vs_T(raw[heads], out_dir / "memorized_vs_T.png", heads))
        paths.append(saturation_figure(ev[heads], out_dir / "saturation.png", heads))
    paths.append(construction_figure(out_dir / "construction.png"))
    paths.append(assumption_figure(out_dir / "assumptions.png"))
    return paths
