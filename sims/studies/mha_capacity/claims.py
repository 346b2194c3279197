"""Claims of the `mha-capacity` study (Mahdavi, Liao, Thrampoulidis, arXiv 2306.02010).

Two exact claims from the theory, at every scale: the constructive proof of Theorem 1 (Sec. 4) memorizes
exactly H(min(n, d_h) - 1) + 1 arbitrary labels in float64, and the shared-context rank bound H(n-1)+1
holds and is tight. Three trend claims on the trained evidence where the scale has its panels (Fig. 2
a-c: linear in H, monotone in n, no gain from d_h beyond n). Each check is a module-level function
taking its inputs, so tests can feed wrong ones.

Evidence is {panel: Dataset} from the scale's panels ('heads', 'context', 'head_dim', ...). The trend
claims use, per seed, the memorization capacity M = max over T of the chance-corrected memorized count
T (acc - 1/C) / (1 - 1/C), with shared contexts; ``measure="capacity"`` runs the same checks on T99
(NOTES.md says why M).

Tolerances (stated here and in each Claim):
  * growth with H: least-squares line of mean capacity on H >= 2: R^2 >= 0.95 and slope > 0, and the
    slope fitted to each seed separately is positive for every seed;
  * growth with n: Spearman rho(n, mean capacity) >= 0.9;
  * d_h plateau: mean capacity(d_h = n) - mean capacity(d_h = 2) exceeds 2 standard errors of that
    difference over seeds, and |mean capacity(d_h = 2n) - mean capacity(d_h = n)| <= max(2 standard
    errors, 10 % of capacity(d_h = n)).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory import mha_capacity as th
from ...stats import spearman
from ...study import Claim, Scale
from .analysis import fit_line

MEASURE = "max_memorized"
CONSTRUCTION_GRID = tuple((H, n, dh) for H in (1, 2, 4, 8) for n in (2, 4, 8, 12) for dh in (2, 4, 8, 16))
RANK_GRID = ((2, 4, 16), (4, 4, 16), (3, 6, 2), (8, 8, 16), (8, 12, 4))


def _curve(ds: xr.Dataset, axis: str, measure: str = MEASURE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(axis values, seed-mean measure, per-seed measure (axis, seed)) with other singleton dims dropped."""
    cap = ds[measure].squeeze(drop=True)
    extra = [d for d in cap.dims if d not in (axis, "seed")]
    if extra:
        raise ValueError(f"capacity has unexpected dims {extra} besides {axis} and seed")
    cap = cap.transpose(axis, "seed")
    return cap[axis].values.astype(float), cap.mean("seed").values, cap.values


def check_heads(ds: xr.Dataset, min_heads: int = 2, r2_min: float = 0.95, measure: str = MEASURE):
    """Capacity grows linearly with H: line on H >= 2 with R^2 >= 0.95, slope > 0, every seed's slope > 0."""
    H, mean, per_seed = _curve(ds, "H", measure)
    use = H >= min_heads
    if use.sum() < 3 or not np.all(np.isfinite(per_seed[use])):
        return f"too few finite points (H {H[use].tolist()}, capacity {np.round(mean[use], 1).tolist()})", False
    slope, intercept, r2 = fit_line(H[use], mean[use])
    seed_slopes = [fit_line(H[use], per_seed[use, s])[0] for s in range(per_seed.shape[1])]
    ok = r2 >= r2_min and slope > 0 and min(seed_slopes) > 0
    return (
        f"capacity {dict(zip(H.astype(int).tolist(), np.round(mean, 1).tolist()))}; slope {slope:.1f}/head "
        f"(per seed {min(seed_slopes):.1f}..{max(seed_slopes):.1f}), R^2 {r2:.3f}"
    ), ok


def check_context(ds: xr.Dataset, rho_min: float = 0.9, measure: str = MEASURE):
    """Capacity grows with context length n: Spearman rho(n, mean capacity) >= 0.9."""
    n, mean, _ = _curve(ds, "n", measure)
    if not np.all(np.isfinite(mean)):
        return f"non-finite capacity at n {n[~np.isfinite(mean)].tolist()}", False
    rho = spearman(n, mean)
    return f"capacity {dict(zip(n.astype(int).tolist(), np.round(mean, 1).tolist()))}; Spearman {rho:.3f}", rho >= rho_min


def _se_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of mean(b) - mean(a) for independent seed samples (unbiased variances)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)))


def check_head_dim_plateau(ds: xr.Dataset, n: int, rel_tol: float = 0.10, z: float = 2.0, measure: str = MEASURE):
    """Shared context: mean capacity rises from d_h = 2 to d_h = n by more than z = 2 standard errors of
    the difference, then changes from d_h = n to d_h = 2n by at most max(z standard errors, 10 % of
    capacity(d_h = n))."""
    dh, mean, per_seed = _curve(ds, "d_h", measure)
    idx = {int(v): i for i, v in enumerate(dh)}
    if not all(k in idx for k in (2, n, 2 * n)):
        raise KeyError(f"head_dim panel needs d_h in (2, {n}, {2 * n}); has {sorted(idx)}")
    lo, at_n, hi = (per_seed[idx[k]] for k in (2, n, 2 * n))
    if min(len(lo), len(at_n), len(hi)) < 2 or not all(np.all(np.isfinite(v)) for v in (lo, at_n, hi)):
        return "needs >= 2 seeds with finite capacity at d_h = 2, n, 2n", False
    rise, rise_tol = float(np.mean(at_n) - np.mean(lo)), z * _se_diff(lo, at_n)
    change = abs(float(np.mean(hi) - np.mean(at_n)))
    flat_tol = max(z * _se_diff(at_n, hi), rel_tol * float(np.mean(at_n)))
    return (
        f"capacity d_h=2: {np.mean(lo):.1f}, d_h=n={n}: {np.mean(at_n):.1f}, d_h=2n={2 * n}: {np.mean(hi):.1f} "
        f"(all d_h: {dict(zip(dh.astype(int).tolist(), np.round(mean, 1).tolist()))}); "
        f"rise {rise:.1f} vs {z:g} SE {rise_tol:.1f}; change above n {change:.1f} vs tolerance {flat_tol:.1f}"
    ), rise > rise_tol and change <= flat_tol


def check_construction(extra_examples: int = 0, d: int = 16, grid=CONSTRUCTION_GRID, seed: int = 0):
    """Theorem 1's construction in float64: for shared and random contexts the constructed weights
    memorize exactly T = H(min(n, d_h) - 1) + 1 arbitrary labels: rank(Z) = T and max |Z^T v - y| < 1e-9.
    ``extra_examples`` > 0 asks for more than the bound (a wrong input: must fail under shared context)."""
    rng = np.random.default_rng(seed)
    worst_res, worst_rank_gap, failures, n_checked = 0.0, 0, [], 0
    for context in ("fixed", "random"):
        for H, n, dh in grid:
            T = th.capacity_bound_value(H, n, dh) + extra_examples
            q, c, y = th.synthetic_data(T, n, d, rng, context=context)
            y = rng.standard_normal(T)  # arbitrary real labels
            out = th.construct(q, c, y, H, dh, rng)
            n_checked += 1
            worst_res = max(worst_res, float(out["residual"]))
            gap = T - int(out["rank"])
            worst_rank_gap = max(worst_rank_gap, gap)
            if not (out["residual"] < 1e-9 and gap == 0) and len(failures) < 3:
                failures.append(f"{context} H{H} n{n} d_h{dh}: residual {out['residual']:.1e}, rank {out['rank']}/{T}")
    ok = not failures
    return f"{n_checked} constructions: max residual {worst_res:.1e}, max rank deficit {worst_rank_gap}" + ("; " + "; ".join(failures) if failures else ""), ok


def check_rank_bound(bound_offset: int = 0, d: int = 16, T: int = 200, seed: int = 0):
    """Shared context, random weights: rank(Z) <= H(n-1)+1 with sigma_{bound+1}/sigma_1 < 1e-10 (holds)
    and rank(Z) = H(n-1)+1 (tight). ``bound_offset`` shifts the predicted bound (a wrong input)."""
    rng = np.random.default_rng(seed)
    parts, ok = [], True
    for H, n, dh in RANK_GRID:
        out = th.rank_bound_check(H, n, d, dh, T, rng, "fixed")
        bound = th.shared_rank_bound_value(H, n) + bound_offset
        holds = out["rank"] <= bound and out["sigma_after_bound"] < 1e-10
        tight = out["rank"] == bound
        ok &= bool(holds and tight)
        parts.append(f"(H{H},n{n},d_h{dh}) rank {out['rank']}/bound {bound}, next sigma {out['sigma_after_bound']:.0e}")
    return "; ".join(parts), ok


def _panel(evidence, name):
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return evidence[name]


def theory_claims() -> list[Claim]:
    return [
        Claim(
            "construction memorizes exactly (float64)",
            "rank(Z) = T = H(min(n,d_h)-1)+1; Z^T v = y for arbitrary labels",
            "max |Z^T v - y| < 1e-9, rank deficit 0; 64 (H,n,d_h) x shared/random",
            lambda ev: check_construction(),
        ),
        Claim(
            "shared-context rank bound holds and is tight",
            "rank(Z) <= H(n-1)+1 for any weights; reached by random weights",
            "sigma_{bound+1}/sigma_1 < 1e-10; rank == bound (T = 200)",
            lambda ev: check_rank_bound(),
        ),
    ]


def claims(scale: Scale) -> list[Claim]:
    """The theory claims, plus the trend claims where the scale has the heads / context / head_dim panels."""
    if not scale.cells.trend_claims:
        return theory_claims()
    n = scale.cells.plateau_n
    return theory_claims() + [
        Claim(
            "capacity M grows with H (shared context)",
            "linear in H (Theorem 1: H(min(n,d_h)-1)+1 at fixed n, d_h)",
            "fit on H>=2: R^2 >= 0.95, slope > 0, every seed's slope > 0",
            lambda ev: check_heads(_panel(ev, "heads")),
        ),
        Claim(
            "capacity M grows with n (shared context)",
            "monotone in context length n",
            "Spearman rho(n, mean capacity) >= 0.9",
            lambda ev: check_context(_panel(ev, "context")),
        ),
        Claim(
            f"d_h plateau at d_h >= n = {n} (shared context)",
            "no gain from d_h beyond n: E W_K W_Q^T covers all n x d maps once d_h >= n",
            "rise 2->n > 2 SE (seeds); |cap(2n)-cap(n)| <= max(2 SE, 10%)",
            lambda ev: check_head_dim_plateau(_panel(ev, "head_dim"), n),
        ),
    ]
