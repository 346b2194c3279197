"""Claims of the `lm-canaries` study: exposure, extraction and their mitigations in a tiny LM.

Predictions from Carlini et al., "The Secret Sharer" (arXiv 1802.08232, Sec. 4-6: exposure grows with
repetitions and training, appears early, is estimated by extrapolation, is stopped by DP-SGD), Carlini
et al., arXiv 2202.07646 (Sec. 4: extraction grows with duplicates, context length and model size),
Lee et al., arXiv 2107.06499 (deduplication), Abadi et al., arXiv 1607.00133 (DP-SGD) and Steinke,
Nasr, Jagielski, arXiv 2305.08846 (a one-run audit is a lower bound on epsilon). Each check is a
module-level function taking its inputs, so tests feed it wrong ones. Evidence is {panel: Dataset}
with the panels 'repetition', 'dedup' and 'dp' of ``scales.Cells``.

Tolerances (stated here and in each Claim):
  * exposure vs r (final step, base width, seed means): Spearman >= 0.9; exposure(r_max) - exposure(1)
    >= 3 bits; r = 0 mean exposure in [0.5, 2.5] bits (null log2 e = 1.44);
  * exact vs extrapolated: |difference| <= 1 bit for every canary whose exact exposure is < 10 bits;
  * exposure at r = 4 rises with width (seed means strictly increasing) and with steps (Spearman >= 0.9);
  * memorized (top level at 90 % of its maximum exposure) no later than validation loss stops improving,
    in every seed: the first logged step after which it never falls more than 2 standard deviations of
    its step-to-step changes (measured over the second half of training) below its value there;
  * extraction: pooled fractions non-decreasing in r and in k up to 2 binomial standard errors of each
    difference, rising from r = 0 to r_max by more than 2 SE, and higher at the widest width;
  * deduplication: |mean exposure(r >= 4) - mean exposure(r = 1)| <= 1 bit;
  * DP: exposure at r_max non-increasing in sigma up to 2 null standard errors (log2 e / sqrt(n)) per
    step and falling by more than that overall; the toy design's untested "<= 3 bits at sigma >= 1"
    checked as stated;
    audited epsilon <= accountant's epsilon in every config; sigma 0, C = inf: the DP gradient equals
    the plain one to 1e-5 (relative, float32).
Claims whose step count or timing rule was fixed on pilot seeds also report, and need, the other seeds.
Where the pilots showed that a scale does not reproduce a prediction, its ``Cells`` say why and the claim
is reported NOT REPRODUCED there when it fails (evaluated with the same tolerance, never loosened).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...stats import spearman
from ...study import Claim, Scale, seed_subsets
from .analysis import PLATEAU_Z, memorized_step, null_se, val_plateau

Z = 2.0  # standard errors of the tolerance-by-noise checks
KIND_LABEL = {"canary": "canaries", "sequence": "tracked rows"}


def panel(evidence, name: str) -> xr.Dataset:
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return evidence[name]


def at_width(ds: xr.Dataset, width) -> xr.Dataset:
    if "width" not in ds.dims:
        return ds
    if width not in ds["width"].values:
        raise KeyError(f"width {width} not in the results ({ds['width'].values.tolist()})")
    return ds.sel(width=width)


def final_by_level(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(levels r, seed-mean exposure at the last step) of one width."""
    da = ds["exposure_r"].isel(step=-1)
    da = da.mean("seed") if "seed" in da.dims else da
    return da["r"].values.astype(int), da.values


def _fmt(r, values) -> str:
    return ", ".join(f"{int(a)}: {b:.2f}" for a, b in zip(r, values))


def check_exposure_trend(ds: xr.Dataset, rho_min: float = 0.9):
    r, mean = final_by_level(ds)
    rho = spearman(r, mean)
    return f"mean exposure by r {{{_fmt(r, mean)}}} bits; Spearman {rho:.3f}", bool(rho >= rho_min)


def check_exposure_gap(ds: xr.Dataset, gap_min: float = 3.0):
    r, mean = final_by_level(ds)
    if 1 not in r:
        raise KeyError("no r = 1 level")
    gap = mean[-1] - mean[list(r).index(1)]
    return f"exposure(r={r[-1]}) - exposure(r=1) = {mean[-1]:.2f} - {mean[list(r).index(1)]:.2f} = {gap:.2f} bits", bool(gap >= gap_min)


def check_null(ds: xr.Dataset, lo: float = 0.5, hi: float = 2.5):
    r, mean = final_by_level(ds)
    if 0 not in r:
        raise KeyError("no r = 0 level")
    m = mean[list(r).index(0)]
    n = int((ds["canary_r"].values == 0).sum()) * ds.sizes.get("seed", 1)
    return f"r = 0: {m:.2f} bits over {n} never-inserted canaries (null 1.44, SE {null_se(n):.2f})", bool(lo <= m <= hi)


def check_extrapolation(ds: xr.Dataset, tol: float = 1.0, below: float = 10.0):
    """|exact - extrapolated| <= tol where exact < below. Exact: each canary's rank among the
    never-inserted secrets (the other canaries left out of R), the quantity the references model."""
    iso, ext, full = (ds[v].values.ravel() for v in ("exposure_isolated", "exposure_extrapolated", "exposure_final"))
    use = iso < below
    if not use.any() or not np.all(np.isfinite(ext[use])):
        return "no finite canary below the cut", False
    diff = np.abs(iso[use] - ext[use])
    full_diff = np.abs(full[full < below] - ext[full < below])
    return (f"max |exact - extrapolated| {diff.max():.2f} bits over {use.sum()} canaries below {below:g} bits "
            f"(90th pct {np.percentile(diff, 90):.2f}); against the exposure over all of R, with the other canaries "
            f"ranked too: max {full_diff.max():.2f}"), bool(diff.max() <= tol)


def check_width(rep: xr.Dataset, level: int, pilot_seeds=()):
    """Seed-mean exposure at ``level`` (last step) strictly increasing in width, in the pilot seeds and in
    the others separately."""
    if "width" not in rep.dims or rep.sizes["width"] < 2:
        raise KeyError("needs at least two widths")
    parts, ok = [], True
    for name, sub in seed_subsets(rep, pilot_seeds).items():
        e = sub["exposure_r"].isel(step=-1).sel(r=level)
        e = e.mean("seed") if "seed" in e.dims else e
        inc = bool(np.all(np.diff(e.values) > 0))
        ok &= inc
        parts.append(f"{name}: {_fmt(rep['width'].values, e.values)}")
    return f"exposure(r={level}) by width: " + "; ".join(parts), ok


def check_steps(ds: xr.Dataset, level: int, rho_min: float = 0.9):
    e = ds["exposure_r"].sel(r=level)
    e = e.mean("seed") if "seed" in e.dims else e
    rho = spearman(e["step"].values, e.values)
    return (f"exposure(r={level}) from {e.values[0]:.2f} (step 0) to {e.values[-1]:.2f} (step {int(e['step'][-1])}); "
            f"Spearman(step, exposure) {rho:.3f}"), bool(rho >= rho_min)


def check_early(ds: xr.Dataset, pilot_seeds=(), z: float = PLATEAU_Z):
    """In every seed the top level reaches 90 % of its maximum exposure (``analysis.memorized_step``) no
    later than validation loss stops improving (``analysis.val_plateau``: the first logged step after which
    it never falls more than z x its step-to-step noise below its value there). Computed here from the
    curves (val_loss (seed, step), exposure_r (seed, step, r)), so a test can feed any."""
    top = ds["exposure_r"].sel(r=int(ds["r"].values.max()))
    steps = ds["step"].values
    seeds = ds["seed"].values.tolist() if "seed" in ds.dims else [None]
    parts, late, ok = [], [], True
    for s in seeds:
        v, e = (np.asarray(x.sel(seed=s).values if s is not None else x.values, float) for x in (ds["val_loss"], top))
        plateau, tol = val_plateau(steps, v, z)
        mem = memorized_step(steps, e)
        good = bool(np.isfinite(mem) and np.isfinite(plateau) and mem <= plateau)
        ok &= good
        late += [] if good else [s]
        at = e[np.flatnonzero(steps == plateau)[0]] if np.isfinite(plateau) else np.nan
        tag = "pilot " if s in tuple(pilot_seeds) else ""
        parts.append(f"{tag}seed {s}: memorized {mem:.0f}, plateau {plateau:.0f} (tol {tol:.3f} nats; exposure there {at:.2f} "
                     f"of max {np.max(e):.2f} bits)")
    verdict = "" if ok else f"; memorized after the plateau in seeds {late}"
    return "; ".join(parts) + verdict, ok


def _pooled(da: xr.DataArray, over: str, keep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coordinate values of ``keep``, pooled fraction, pooled count) of a 0/1 array."""
    other = [d for d in da.dims if d != keep]
    frac = da.mean(other)
    n = np.full(frac.shape, da.size // da.sizes[keep])
    return frac[keep].values, frac.values, n


def _monotone(x, f, n, z: float = Z, rise: bool = False) -> tuple[bool, str]:
    se = np.sqrt(f[1:] * (1 - f[1:]) / n[1:] + f[:-1] * (1 - f[:-1]) / n[:-1])
    drops = f[:-1] - f[1:]
    ok = bool(np.all(drops <= z * se))
    text = ", ".join(f"{int(a)}: {b:.2f}" for a, b in zip(x, f))
    total_se = np.sqrt(f[0] * (1 - f[0]) / n[0] + f[-1] * (1 - f[-1]) / n[-1])
    if rise:
        ok &= bool(f[-1] - f[0] > z * total_se)
    else:
        ok &= bool(f[-1] >= f[0])
    return ok, text


def check_extraction(rep: xr.Dataset, axis: str, z: float = Z):
    """Extraction (canaries and tracked rows) non-decreasing along ``axis`` ('r' or 'prompt'), pooled over
    everything else, within z binomial SE per step; along r it must also rise by more than z SE overall."""
    parts, ok = [], True
    for kind in ("canary", "sequence"):
        da = rep[f"{kind}_extracted"].assign_coords(r=(kind, rep[f"{kind}_r"].values))
        if axis == "r":
            levels = np.unique(da["r"].values)
            f = np.array([float(da.where(da["r"] == r).mean()) for r in levels])
            n = np.array([int(da.where(da["r"] == r).count()) for r in levels])
            x = levels
        else:
            use = da.where(da["r"] > 0)
            x = use["prompt"].values
            f = np.array([float(use.sel(prompt=k).mean()) for k in x])
            n = np.array([int(use.sel(prompt=k).count()) for k in x])
        good, text = _monotone(x, f, n, z, rise=(axis == "r"))
        ok &= good
        parts.append(f"{KIND_LABEL[kind]} {{{text}}}")
    label = "by r" if axis == "r" else "by k (r >= 1)"
    return f"fraction extracted {label}: " + "; ".join(parts), ok


def check_extraction_width(rep: xr.Dataset):
    """The widest width extracts a larger pooled fraction (r >= 1, all k and seeds) than the narrowest,
    for canaries and for tracked rows."""
    if "width" not in rep.dims or rep.sizes["width"] < 2:
        raise KeyError("needs at least two widths")
    parts, ok = [], True
    w = rep["width"].values
    for kind in ("canary", "sequence"):
        da = rep[f"{kind}_extracted"].where(xr.DataArray(rep[f"{kind}_r"].values > 0, dims=kind))
        f = da.mean([d for d in da.dims if d != "width"]).values
        ok &= bool(f[-1] > f[0])
        parts.append(f"{KIND_LABEL[kind]} {{{_fmt(w, f)}}}")
    return "pooled fraction extracted (r >= 1) by width: " + "; ".join(parts), ok


def check_dedup(dedup: xr.Dataset, tol: float = 1.0, plain: xr.Dataset | None = None):
    r, mean = final_by_level(dedup)
    e = dedup["exposure_final"]
    high = float(e.where(xr.DataArray(dedup["canary_r"].values >= 4, dims="canary")).mean())
    one = float(e.where(xr.DataArray(dedup["canary_r"].values == 1, dims="canary")).mean())
    text = f"deduplicated: r >= 4 {high:.2f} vs r = 1 {one:.2f} bits (by r {{{_fmt(r, mean)}}})"
    if plain is not None:
        p = plain["exposure_final"]
        ph = float(p.where(xr.DataArray(plain["canary_r"].values >= 4, dims="canary")).mean())
        po = float(p.where(xr.DataArray(plain["canary_r"].values == 1, dims="canary")).mean())
        text += f"; without deduplication {ph:.2f} vs {po:.2f}"
    return text, bool(abs(high - one) <= tol)


def _dp_top(dp: xr.Dataset) -> tuple[np.ndarray, np.ndarray, int, int]:
    top = int(dp["r"].values.max())
    e = dp["exposure_r"].isel(step=-1).sel(r=top)
    n = int((dp["canary_r"].values == top).sum()) * dp.sizes.get("seed", 1)
    e = e.mean("seed") if "seed" in e.dims else e
    return dp["sigma"].values, e.values, top, n


def check_dp_trend(dp: xr.Dataset, z: float = Z):
    sigma, e, top, n = _dp_top(dp)
    tol = z * null_se(n)
    ok = bool(np.all(np.diff(e) <= tol) and e[0] - e[-1] > tol)
    return f"exposure(r={top}) by sigma {{{_fmt_sigma(sigma, e)}}}; tolerance {tol:.2f} bits ({n} canaries)", ok


def _fmt_sigma(sigma, e) -> str:
    return ", ".join(f"{s:g}: {v:.2f}" for s, v in zip(sigma, e))


def check_dp_threshold(dp: xr.Dataset, threshold: float = 3.0, sigma_min: float = 1.0):
    """The toy design's untested threshold: exposure(r_max) <= ``threshold`` bits at every sigma >= sigma_min."""
    sigma, e, top, n = _dp_top(dp)
    use = sigma >= sigma_min
    if not use.any():
        raise KeyError(f"no sigma >= {sigma_min:g}")
    return f"exposure(r={top}) at sigma >= {sigma_min:g}: {{{_fmt_sigma(sigma[use], e[use])}}} bits ({n} canaries)", bool(np.all(e[use] <= threshold))


def check_audit(dp: xr.Dataset):
    audit, acc = dp["epsilon_audit"], dp["epsilon"]
    if not np.all(np.isfinite(audit.values)):
        return "audit not measurable (non-finite scores)", False
    ok = bool(np.all(audit.values <= acc.values))
    a = audit.max("seed") if "seed" in audit.dims else audit
    c = acc.min("seed") if "seed" in acc.dims else acc
    pairs = ", ".join(f"{s:g}: {x:.2f} <= {y:.3g}" for s, x, y in zip(dp["sigma"].values, a.values, c.values))
    return f"sigma: audited lower bound (max over seeds) <= accountant {{{pairs}}}", ok


def check_dp_plain(dp: xr.Dataset, tol: float = 1e-5):
    gap = float(np.max(dp["dp_grad_gap"].values))
    return f"max relative |g_DP - g_plain| over {dp['dp_grad_gap'].size} runs: {gap:.1e}", bool(np.isfinite(gap) and gap <= tol)


def claims(scale: Scale) -> list[Claim]:
    c = scale.cells
    L = c.width_level

    def base(ev):
        return at_width(panel(ev, c.repetition), c.base_width)

    return [
        Claim("exposure grows with repetitions r", "monotone in r (Secret Sharer Sec. 5)", "Spearman(r, mean exposure) >= 0.9",
              lambda ev: check_exposure_trend(base(ev))),
        Claim("exposure(r_max) - exposure(1)", "repetition adds bits", ">= 3 bits", lambda ev: check_exposure_gap(base(ev))),
        Claim("r = 0 at the null exposure", "never-inserted: uniform rank, log2 e = 1.44 bits", "mean in [0.5, 2.5] bits",
              lambda ev: check_null(base(ev))),
        Claim("exact vs extrapolated exposure", "skew-normal fit of 2000 references estimates the rank (Sec. 4.3)",
              "|diff| <= 1 bit where exact < 10", lambda ev: check_extrapolation(base(ev))),
        Claim(f"exposure(r={L}) rises with width", "larger models memorize more (2202.07646 Sec. 4.1)",
              "seed means strictly increasing; pilot and other seeds", lambda ev: check_width(panel(ev, c.repetition), L, c.pilot_seeds)),
        Claim(f"exposure(r={L}) rises with steps", "exposure grows along training", "Spearman(step, exposure) >= 0.9",
              lambda ev: check_steps(base(ev), L)),
        Claim("memorized before val loss stops improving", "early, not from overfitting (Secret Sharer Sec. 6)",
              "r_max at 90% of max exposure at or before the val-loss plateau (first step after which it never falls > 2 SD of "
              "its step-to-step changes, 2nd half), every seed", lambda ev: check_early(base(ev), c.pilot_seeds),
              not_reproduced=c.early_not_reproduced),
        Claim("extraction non-decreasing in r", "more duplicates, more extraction (2202.07646 Sec. 4.2)",
              "pooled, drops <= 2 SE; rise r_min -> r_max > 2 SE", lambda ev: check_extraction(panel(ev, c.repetition), "r")),
        Claim("extraction non-decreasing in k", "longer true prefix, more extraction (Sec. 4.3)", "pooled r >= 1, drops <= 2 SE",
              lambda ev: check_extraction(panel(ev, c.repetition), "prompt")),
        Claim("extraction higher for the widest model", "larger models extract more (Sec. 4.1)", "pooled fraction: widest > narrowest",
              lambda ev: check_extraction_width(panel(ev, c.repetition))),
        Claim("deduplication removes the repetition effect", "dedup brings r >= 4 to the r = 1 level (Lee et al.)",
              "|mean(r >= 4) - mean(r = 1)| <= 1 bit",
              lambda ev: check_dedup(panel(ev, c.dedup), plain=at_width(panel(ev, c.repetition), c.base_width) if c.repetition in ev else None)),
        Claim("DP-SGD: exposure falls with sigma", "noise hides the canary (Secret Sharer Sec. 9)",
              "non-increasing within 2 null SE; total fall > 2 null SE", lambda ev: check_dp_trend(panel(ev, c.dp))),
        Claim("DP-SGD: exposure <= 3 bits at sigma >= 1", "the toy design's untested threshold (UNVERIFIED in the fact sheet)",
              "<= 3 bits (r_max, every sigma >= 1)", lambda ev: check_dp_threshold(panel(ev, c.dp)), not_reproduced=c.dp_threshold_not_reproduced),
        Claim("audited epsilon <= accountant's epsilon", "a lower bound never exceeds a valid upper bound (2305.08846)",
              "every config, audit at 95%", lambda ev: check_audit(panel(ev, c.dp))),
        Claim("DP step at sigma 0, C = inf is the plain step", "clipping at inf and no noise change nothing",
              "relative gap <= 1e-5 (float32)", lambda ev: check_dp_plain(panel(ev, c.dp))),
    ]
