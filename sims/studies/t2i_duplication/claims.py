"""Claims of the `t2i-duplication` study (checks F1-F7), each with its tolerance beside the prediction.

Predictions: Naseh et al. arXiv 2312.03692 (a trigger word, type A, and a shared template, type B, make a
diffusion model replicate training images); Somepalli et al. arXiv 2305.20086 (duplicating caption and image
together drives replication, the image alone much less; caption randomisation and embedding noise mitigate
it; guidance amplifies it); Webster arXiv 2305.08694 (template verbatims); Wen et al. arXiv 2407.21720 (the
magnitude ||eps_c - eps_null|| detects memorized prompts, its gradient blames the trigger token). The
ideal memorizer (``rote.theory.diffusion``) predicts RR = 1 everywhere, a generalising model RR = 0; the
figures place the trained model between them.

Each check is a module-level function on plain arrays (seed means per level), so tests feed it wrong inputs
and plausible alternatives. Evidence is {panel: summarized Dataset} with the panels of ``scales.Cells``.
Tolerances (stated here and in each Claim; seed means of per-prompt rates):
  F1 E1 RR rises with d: Spearman > 0.8; RR(d = 1) <= 0.1 (the step budget's calibration); RR >= 0.5 at every
     d >= 16;
  F2 mean E1 RR over d >= 8 at least 3x the E2 RR there, with E1 RR >= 0.3 so the ratio is measured;
  F3 E3 RR (trigger alone) rises with d (Spearman > 0.8) and is >= 0.3 at d >= 16; there RR(trigger inside a new
     generic caption) >= 0.5 RR(trigger alone); leak on generic prompts <= 0.02; never-trained trigger <= 0.02;
  F4 template rate >= 0.8 for every M >= 4; full replication of one member <= 0.2 at M = 16 and not above its
     M = 4 value at larger M; at M = 1, |member rate - E1 RR at d = 4| <= 0.1;
  F5 detector AUC (memorized prompts, RR >= 0.5, vs generic prompts) >= 0.9; the trigger ranked first by blame
     in >= 90 % of E3 prompts with d >= 8;
  F6 E1 RR non-decreasing in w for every d >= 4, up to 0.05 per step, and rising by >= 0.1 from w_min to w_max
     averaged over d >= 4;
  F7 each mitigation cuts E1 RR at d = 16 by >= 50 % relative to the same seeds without it, with RR there
     >= 0.3 without it, at a generic-prompt attribute accuracy drop <= 0.10.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...stats import spearman
from ...study import Claim, Scale, seed_subsets
from .analysis import by_level, label

LOW, HIGH, MID = 8, 16, 4  # the fact sheet's level cut-offs (d >= 8, d >= 16, d >= 4)


def panel(evidence, name: str) -> xr.Dataset:
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    ds = evidence[name]
    return ds if "prompt_kind" in ds.coords else label(ds)


def curve(ds: xr.Dataset, var: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(levels d, seed mean of ``var`` per level) for prompts of ``kind``."""
    c = by_level(ds, var, kind)
    return c["d"].values, c.mean([d for d in c.dims if d != "d"]).values


def fmt(d, v) -> str:
    return ", ".join(f"d={int(a)}: {b:.2f}" for a, b in zip(d, v))


def check_rises(d, rr, low_max=0.1, high_min=0.5, high_from=HIGH, rho_min=0.8) -> tuple[str, bool]:
    """F1: Spearman(d, RR) > rho_min; RR(min d) <= low_max when min d = 1; RR >= high_min at every d >= high_from."""
    d, rr = np.asarray(d), np.asarray(rr, float)
    rho = spearman(d, rr)
    high = rr[d >= high_from]
    ok = rho > rho_min and (d.min() != 1 or rr[0] <= low_max) and high.size > 0 and bool(np.all(high >= high_min))
    return f"RR {fmt(d, rr)}; Spearman {rho:.2f}", bool(ok)


def check_ratio(d, rr_e1, rr_e2, low=LOW, factor=3.0, floor=0.3) -> tuple[str, bool]:
    """F2: mean E1 RR over d >= low >= factor x mean E2 RR, with E1 >= floor."""
    d = np.asarray(d)
    sel = d >= low
    a, b = float(np.mean(np.asarray(rr_e1)[sel])), float(np.mean(np.asarray(rr_e2)[sel]))
    return f"d >= {low}: E1 RR {a:.2f}, E2 RR {b:.2f}", bool(sel.any() and a >= floor and a >= factor * b)


def check_trigger(d, alone, inside, leak, untrained, high_from=HIGH, floor=0.3, rho_min=0.8, share=0.5, leak_max=0.02) -> tuple[str, bool]:
    """F3: trigger-alone RR rises with d and is >= floor at d >= high_from, where trigger-in-caption RR >= share x it;
    leak and never-trained RR <= leak_max."""
    d, alone, inside = np.asarray(d), np.asarray(alone, float), np.asarray(inside, float)
    rho = spearman(d, alone)
    hi = d >= high_from
    a, b = float(np.mean(alone[hi])) if hi.any() else np.nan, float(np.mean(inside[hi])) if hi.any() else np.nan
    ok = rho > rho_min and hi.any() and a >= floor and b >= share * a and leak <= leak_max and untrained <= leak_max
    return (f"alone {fmt(d, alone)} (Spearman {rho:.2f}); d >= {high_from}: inside caption {b:.2f} vs alone {a:.2f}; "
            f"leak {leak:.3f}; never-trained {untrained:.3f}"), bool(ok)


def check_template(m, template, member, e1_at_4, template_min=0.8, member_max=0.2, at_m=16, tol=0.1) -> tuple[str, bool]:
    """F4: template rate >= template_min for M >= 4; member rate <= member_max at M = at_m and not above the M = 4 value at
    larger M; |member(M = 1) - E1 RR(d = 4)| <= tol."""
    m, template, member = np.asarray(m), np.asarray(template, float), np.asarray(member, float)
    big = m >= 4
    ok = bool(big.any() and np.all(template[big] >= template_min))
    if at_m in m:
        ok &= bool(member[m == at_m][0] <= member_max)
    if 4 in m:
        ok &= bool(np.all(member[m > 4] <= member[m == 4][0] + 1e-9))
    if 1 in m:
        ok &= bool(abs(member[m == 1][0] - e1_at_4) <= tol)
    return (f"template rate {', '.join(f'M={int(a)}: {b:.2f}' for a, b in zip(m, template))}; member replication "
            f"{', '.join(f'M={int(a)}: {b:.2f}' for a, b in zip(m, member))}; E1 RR at d=4 {e1_at_4:.2f}"), ok


def check_detector(aucs, ranks, auc_min=0.9, first_min=0.9) -> tuple[str, bool]:
    """F5: mean AUC over seeds >= auc_min; fraction of trigger ranks == 1 >= first_min."""
    aucs, ranks = np.asarray(aucs, float), np.asarray(ranks, float)
    a, first = float(np.nanmean(aucs)) if np.isfinite(aucs).any() else np.nan, float(np.mean(ranks == 1)) if ranks.size else np.nan
    return f"AUC {a:.3f} (per seed {', '.join(f'{x:.3f}' for x in aucs)}); trigger ranked first in {first:.0%} of {ranks.size}", \
        bool(np.isfinite(a) and a >= auc_min and ranks.size and first >= first_min)


def check_guidance(w, d, rr, slack=0.05, rise=0.1, from_d=MID) -> tuple[str, bool]:
    """F6: rr (W, levels) seed means; for every d >= from_d non-decreasing in w up to ``slack`` per step, and the mean over
    those d rising by >= rise from w_min to w_max."""
    w, d, rr = np.asarray(w), np.asarray(d), np.asarray(rr, float)
    sel = rr[:, d >= from_d]
    mono = bool(sel.size and np.all(np.diff(sel, axis=0) >= -slack))
    gain = float(sel[-1].mean() - sel[0].mean()) if sel.size else np.nan
    rows = "; ".join(f"w={x:g}: " + ", ".join(f"{v:.2f}" for v in r) for x, r in zip(w, sel))
    return f"E1 RR at d >= {from_d} ({', '.join(str(int(x)) for x in d[d >= from_d])}): {rows}; gain {gain:.2f}", bool(mono and gain >= rise)


def check_mitigation(rr_base, rr_mitigated, acc_base, acc_mitigated, cut=0.5, floor=0.3, drop_max=0.10) -> tuple[str, bool]:
    """F7: rr_mitigated <= (1 - cut) rr_base with rr_base >= floor; accuracy drop <= drop_max."""
    rel = 1 - rr_mitigated / rr_base if rr_base > 0 else np.nan
    drop = acc_base - acc_mitigated
    return (f"RR {rr_base:.2f} -> {rr_mitigated:.2f} (cut {rel:.0%}); attribute accuracy {acc_base:.2f} -> {acc_mitigated:.2f} "
            f"(drop {drop:+.2f})"), bool(rr_base >= floor and rr_mitigated <= (1 - cut) * rr_base and drop <= drop_max)


def _seeds(ds):
    return ds["seed"].values.tolist() if "seed" in ds.dims else [None]


def _by_subsets(check, cells):
    """A check run on the pilot seeds and the others separately; both must pass."""
    def go(evidence):
        ds = panel(evidence, cells.main)
        parts = [(name, check(sub, evidence)) for name, sub in seed_subsets(ds, cells.pilot_seeds).items()]
        return "; ".join(f"{n}: {m}" for n, (m, _) in parts), all(ok for _, (_, ok) in parts)
    return go


def claims(scale: Scale) -> list[Claim]:
    cells = scale.cells
    hi = cells.high_d

    def f1(ds, _):
        d, rr = curve(ds, "rr", "E1")
        tau = float(ds["tau"].mean())
        m, ok = check_rises(d, rr, high_from=hi)
        return f"{m}; tau {tau:.3f}", ok

    def f2(ds, _):
        d, a = curve(ds, "rr", "E1")
        _, b = curve(ds, "rr", "E2")
        return check_ratio(d, a, b, low=min(LOW, int(d.max())))

    def f3(ds, _):
        d, alone = curve(ds, "rr", "E3_alone")
        _, inside = curve(ds, "rr", "E3_caption")
        kinds = ds["prompt_kind"].values
        leak = float(ds["leak"].isel(prompt=np.flatnonzero(kinds == "generic")).mean())
        untrained = float(ds["leak"].isel(prompt=np.flatnonzero(kinds == "untrained")).mean())
        return check_trigger(d, alone, inside, leak, untrained, high_from=hi)

    def f4(ds, _):
        m, template = curve(ds, "template", "E4")
        _, member = curve(ds, "member", "E4")
        d, e1 = curve(ds, "rr", "E1")
        return check_template(m, template, member, float(e1[d == MID][0]) if MID in d else np.nan)

    def f5(ds, _):
        sel = ds["blame_rank"].isel(target=np.flatnonzero(ds["target_d"].values >= min(LOW, hi)))
        return check_detector(np.atleast_1d(ds["auc"].values), sel.values.ravel())

    def f6(ds, _):
        g = ds["rr_guidance"].isel(gprompt=np.flatnonzero(ds["gprompt_kind"].values == "E1"))
        c = g.groupby(g["gprompt_d"].rename("d")).mean("gprompt")
        c = c.mean([x for x in c.dims if x not in ("w", "d")]).transpose("w", "d")
        return check_guidance(c["w"].values, c["d"].values, c.values, from_d=min(MID, hi))

    def mitigation(name):
        def go(evidence):
            base, mit = panel(evidence, cells.main), panel(evidence, name)
            seeds = [s for s in _seeds(mit) if s in _seeds(base)]
            if seeds and seeds[0] is not None:
                base, mit = base.sel(seed=seeds), mit.sel(seed=seeds)
            d, rb = curve(base, "rr", "E1")
            _, rm = curve(mit, "rr", "E1")
            return check_mitigation(float(rb[d == hi][0]), float(rm[d == hi][0]), float(base["accuracy"].mean()), float(mit["accuracy"].mean()))
        return go

    def claim(name, prediction, tolerance, check):
        return Claim(name, prediction, tolerance, check, not_reproduced=cells.gap(name))

    return [
        claim("F1 E1 replication rises with duplication", "image + caption duplication: RR rises with d; d = 1 rarely replicates",
              "Spearman(d, RR) > 0.8; RR(d=1) <= 0.1; RR >= 0.5 at every d >= 16", _by_subsets(f1, cells)),
        claim("F2 caption + image vs image only", "at equal d >= 8, E2 (image only) RR is >= 3x lower than E1 (image + caption)",
              "mean E1 RR >= 3 x mean E2 RR over d >= 8, with E1 RR >= 0.3", _by_subsets(f2, cells)),
        claim("F3 trigger word overrides the prompt", "trigger-alone RR rises with d; inside a new caption it keeps >= half; no leak",
              "Spearman > 0.8, alone >= 0.3 at d >= 16, inside >= 0.5 x alone there; leak and never-trained RR <= 0.02",
              _by_subsets(f3, cells)),
        claim("F4 template without full-image replication", "shared template: the template is copied, no single member as M grows",
              "template rate >= 0.8 for M >= 4; member RR <= 0.2 at M = 16, non-increasing from M = 4; M = 1 within 0.1 of E1 at d = 4",
              _by_subsets(f4, cells)),
        claim("F5 detector and blame", "||eps_c - eps_null|| separates memorized from generic prompts; blame finds the trigger",
              "AUC >= 0.9; trigger ranked first in >= 90 % of E3 prompts with d >= 8", _by_subsets(f5, cells)),
        claim("F6 guidance amplifies replication", "E1 RR rises with guidance w at every d >= 4",
              "non-decreasing in w up to 0.05 per step at every d >= 4; mean gain w_min -> w_max >= 0.1", _by_subsets(f6, cells)),
        claim("F7a random word insertion mitigates", f"word insertion (p = {cells.insert_p}) cuts E1 RR at d = {hi} at a small accuracy cost",
              "relative cut >= 50 % (baseline RR >= 0.3); attribute accuracy drop <= 0.10", mitigation(cells.insert)),
        claim("F7b text-embedding noise mitigates", f"embedding noise (lambda = {cells.noise_lambda}) cuts E1 RR at d = {hi} at a small cost",
              "relative cut >= 50 % (baseline RR >= 0.3); attribute accuracy drop <= 0.10", mitigation(cells.noise)),
    ]
