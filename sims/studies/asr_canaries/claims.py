"""Claims of the `asr-canaries` study: sped-up canaries, their memorization, and clipping.

Predictions from Wang, Thakkar, Mathews (arXiv 2310.11739, Sec. 1-4, abstract): sped-up random
utterances are not learnable from ordinary speech, so only trained ones are transcribed; transcripts of
them improve with repetitions; per-example clipping (PEC) removes the memorization up to 16
repetitions; per-core clipping (PCC) keeps quality while protecting the rarer canaries. Each check is a
module-level function of its inputs, so tests feed it wrong ones. Evidence is {panel: Dataset} with the
panels of ``scales.Cells``; TERs are seed means unless stated.

Tolerances (stated here and in each Claim):
  1. control (no canaries, short budget): held-out sped-up TER >= 0.8 while clean TER <= 0.10;
  2. baseline, short budget: TER(K_r) non-increasing in r (each step may rise by at most 0.05, the noise
     of a 20-canary mean) and M(16) = TER(K_0) - TER(K_16) >= 0.6, in the pilot seeds and in the others;
  3. PEC at the smallest C, long budget: |TER(K_r) - TER(K_0)| <= 0.2 for every r, clean TER at most 0.06
     above the long-budget baseline's; the protected range (largest r up to which every level is within
     0.2 of K_0) non-increasing in C over the pec C and C = inf (the baseline), and smaller at inf;
  4. PCC at the fewest cores (largest per-core batch): clean TER within 0.01 of the long-budget
     baseline's; every level 1 <= r <= 4 at TER >= 0.5 where the baseline's is below 0.5; the mean
     memorization over trained levels non-increasing as the per-core batch shrinks and on to PEC (b = 1)
     at the same C (0.02 slack per step), lower at the end than at the fewest cores;
  5. C = inf gives the baseline gradient: inf_gap <= 1e-5 (relative, float32) in every PEC and PCC config.
The cost ratios (PCC about 2x baseline, PEC 4-5x) are measured by benchmarks/bench_asr.py, not here.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...study import Claim, Scale, seed_subsets
from .analysis import PROTECT_TOL, protected_range, seed_mean

STEP_SLACK = 0.05  # a 20-canary mean TER may rise this much between consecutive levels by noise
PCC_SLACK = 0.02


def panel(evidence, name: str) -> xr.Dataset:
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return evidence[name]


def _fmt(r, values) -> str:
    return ", ".join(f"{int(a)}: {b:.2f}" for a, b in zip(r, values))


def check_not_learnable(ds: xr.Dataset, ter_min: float = 0.8, clean_max: float = 0.10):
    """Control runs (insert_canaries False): every canary is held out; their mean TER >= ter_min, clean TER <= clean_max."""
    ctrl = ds.sel(insert_canaries=False) if "insert_canaries" in ds.dims else ds
    sped = float(seed_mean(ctrl["canary_ter"].mean("canary")))
    clean = float(seed_mean(ctrl["clean_ter"]))
    per_seed = ctrl["canary_ter"].mean("canary").values.ravel()
    return (f"without canaries: sped-up TER {sped:.3f} (per seed {np.round(per_seed, 3).tolist()}), clean TER {clean:.3f}",
            bool(sped >= ter_min and clean <= clean_max))


def _trained(ds: xr.Dataset) -> xr.Dataset:
    return ds.sel(insert_canaries=True) if "insert_canaries" in ds.dims else ds


def check_memorization_grows(ds: xr.Dataset, pilot_seeds=(), slack: float = STEP_SLACK, m16_min: float = 0.6):
    """TER(K_r) non-increasing in r (up to ``slack`` per step) and M(r_max) >= m16_min, in every seed subset."""
    parts, ok = [], True
    for name, sub in seed_subsets(_trained(ds), pilot_seeds).items():
        ter = seed_mean(sub["ter_r"])
        r, t = ter["r"].values, ter.values
        m_top = t[0] - t[-1]
        good = bool(np.all(np.diff(t) <= slack) and m_top >= m16_min)
        ok &= good
        parts.append(f"{name}: TER by r {{{_fmt(r, t)}}}, M({int(r[-1])}) = {m_top:.2f}")
    return "; ".join(parts), ok


def _clean(ds: xr.Dataset) -> float:
    return float(seed_mean(ds["clean_ter"]))


def check_pec_suppresses(pec: xr.Dataset, budget: xr.Dataset, tol: float = PROTECT_TOL, clean_slack: float = 0.06):
    """At the smallest C: max_r |TER(K_r) - TER(K_0)| <= tol and clean TER <= baseline's + clean_slack."""
    c = float(pec["clip"].values.min())
    sub = pec.sel(clip=c)
    ter = seed_mean(sub["ter_r"])
    dev = float(np.max(np.abs(ter.values[1:] - ter.values[0])))
    clean, base = _clean(sub), _clean(budget)
    return (f"PEC C={c:g}: TER by r {{{_fmt(ter['r'].values, ter.values)}}}, max |TER(K_r) - TER(K_0)| = {dev:.2f}; "
            f"clean TER {clean:.3f} vs baseline {base:.3f} (+{clean - base:.3f})"), bool(dev <= tol and clean - base <= clean_slack)


def protected_ranges(pec: xr.Dataset, budget: xr.Dataset, tol: float = PROTECT_TOL):
    """(C values ascending with inf last, protected range at each)."""
    clips = sorted(float(c) for c in pec["clip"].values)
    out = []
    for c in clips:
        ter = seed_mean(pec.sel(clip=c)["ter_r"])
        out.append(protected_range(ter.values, ter["r"].values, tol))
    ter = seed_mean(budget["ter_r"])
    out.append(protected_range(ter.values, ter["r"].values, tol))
    return clips + [np.inf], out


def check_protection_shrinks(pec: xr.Dataset, budget: xr.Dataset, tol: float = PROTECT_TOL):
    clips, ranges = protected_ranges(pec, budget, tol)
    ok = bool(np.all(np.diff(ranges) <= 0) and ranges[-1] < ranges[0])
    return "protected range (largest r with every level within 0.2 of K_0) by C: " + ", ".join(
        f"{c:g}: {r}" for c, r in zip(clips, ranges)), ok


def check_pcc_quality(pcc: xr.Dataset, budget: xr.Dataset, slack: float = 0.01):
    """Clean TER at the fewest cores (largest per-core batch) within ``slack`` of the baseline's."""
    m = int(pcc["cores"].values.min())
    clean, base = _clean(pcc.sel(cores=m)), _clean(budget)
    return f"PCC M={m}: clean TER {clean:.3f} vs baseline {base:.3f} ({clean - base:+.3f})", bool(abs(clean - base) <= slack)


def check_pcc_protects_rare(pcc: xr.Dataset, budget: xr.Dataset, r_max: int = 4, ter_min: float = 0.5):
    """At the fewest cores, every level 1 <= r <= r_max at TER >= ter_min, where the baseline is below it."""
    m = int(pcc["cores"].values.min())
    ter = seed_mean(pcc.sel(cores=m)["ter_r"])
    base = seed_mean(budget["ter_r"])
    low = [r for r in ter["r"].values if 1 <= r <= r_max]
    t, b = ter.sel(r=low).values, base.sel(r=low).values
    return (f"PCC M={m} TER r<={r_max}: {{{_fmt(low, t)}}}; baseline {{{_fmt(low, b)}}}",
            bool(np.all(t >= ter_min) and np.all(b < ter_min)))


def mean_memorization(ds: xr.Dataset) -> xr.DataArray:
    """Seed-mean M(r) averaged over the trained levels (r > 0)."""
    m = seed_mean(ds["memorization"])
    return m.sel(r=m["r"] > 0).mean("r")


def check_pcc_approaches_pec(pcc: xr.Dataset, pec: xr.Dataset, clip: float, slack: float = PCC_SLACK):
    """Mean memorization non-increasing as the per-core batch B / M shrinks (more cores), then PEC at the
    same C (b = 1), up to ``slack`` per step, and lower at the end than at the fewest cores."""
    cores = pcc["cores"].values
    mem = mean_memorization(pcc).values
    pec_m = float(mean_memorization(pec.sel(clip=clip)))
    seq = np.append(mem, pec_m)
    ok = bool(np.all(np.diff(seq) <= slack) and seq[-1] < seq[0])
    return "mean memorization by cores: " + ", ".join(f"M={int(k)}: {v:.3f}" for k, v in zip(cores, mem)) + f"; PEC (b=1): {pec_m:.3f}", ok


def check_inf_gap(*datasets, tol: float = 1e-5):
    gaps = np.concatenate([d["inf_gap"].values.ravel() for d in datasets])
    return f"max relative |g(C=inf) - g_baseline| = {np.nanmax(gaps):.2e} over {gaps.size} configs", bool(np.all(gaps <= tol))


def claims(scale: Scale) -> list[Claim]:
    c = scale.cells

    return [
        Claim("sped_up_not_learnable", "trained without canaries, held-out sped-up canaries are not transcribed while clean speech is",
              "sped-up TER >= 0.8 and clean TER <= 0.10 (seed means, short budget)", lambda ev: check_not_learnable(panel(ev, c.baseline))),
        Claim("memorization_grows_with_r", f"at {c.short} epochs the baseline's TER(K_r) is non-increasing in r and M(r_max) >= 0.6",
              f"each step in r may rise <= {STEP_SLACK}; M(r_max) >= 0.6; pilot seeds and the others separately",
              lambda ev: check_memorization_grows(panel(ev, c.baseline), c.pilot_seeds)),
        Claim("pec_suppresses_memorization", f"PEC at C = {min(c.pec_clips):g} ({c.long} epochs) leaves every level as unread as K_0 at small quality cost",
              "max_r |TER(K_r) - TER(K_0)| <= 0.2; clean TER <= baseline + 0.06", lambda ev: check_pec_suppresses(panel(ev, c.pec), panel(ev, c.budget)),
              not_reproduced=c.pec_not_reproduced),
        Claim("pec_protection_shrinks_with_C", "the range of protected repetition levels shrinks as C grows (C = inf: the baseline)",
              "protected range non-increasing over C ascending, strictly smaller at inf than at the smallest C",
              lambda ev: check_protection_shrinks(panel(ev, c.pec), panel(ev, c.budget))),
        Claim("pcc_quality_neutral", f"PCC (C = {c.pcc_clip:g}, M = {min(c.pcc_cores)}) keeps the baseline's clean TER",
              "|clean TER - baseline| <= 0.01", lambda ev: check_pcc_quality(panel(ev, c.pcc), panel(ev, c.budget)),
              not_reproduced=c.pcc_not_reproduced),
        Claim("pcc_protects_rare_canaries", f"PCC (C = {c.pcc_clip:g}, M = {min(c.pcc_cores)}) leaves levels r <= 4 unmemorized where the baseline memorizes them",
              "PCC TER >= 0.5 and baseline TER < 0.5 at every 1 <= r <= 4", lambda ev: check_pcc_protects_rare(panel(ev, c.pcc), panel(ev, c.budget)),
              not_reproduced=c.pcc_not_reproduced),
        Claim("pcc_approaches_pec", "mean memorization falls as the per-core batch shrinks, towards PEC (b = 1)",
              f"non-increasing in M up to {PCC_SLACK} per step, PEC last, strictly lower at the end than at the fewest cores",
              lambda ev: check_pcc_approaches_pec(panel(ev, c.pcc), panel(ev, c.pec), c.pcc_clip)),
        Claim("clip_inf_equals_baseline", "clipping at C = inf reproduces the baseline gradient", "relative max difference <= 1e-5 (float32)",
              lambda ev: check_inf_gap(panel(ev, c.pec), panel(ev, c.pcc))),
    ]
