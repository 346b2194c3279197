"""Claims of the `t2i-taxonomy` study (checks T1-T7), each with its tolerance beside the prediction.

Naseh, Roh, Houmansadr (arXiv 2312.07550, abstract): memorization in text-to-image models is both a privacy risk
and what a user asks for; an under-represented entity can only be drawn faithfully by memorizing its few images.
Operationalised with element detectors (analysis.py); the two analytic anchors are ``rote.theory.t2i_taxonomy``.
Tolerances (seed means of per-sample event rates at the main guidance w unless stated):
  T1 glyphs with n_ctx >= 16 distinct images (d = 1): R_ME >= 0.8 and whole-image replication <= 0.05;
  T2 the under-represented glyph (n_ctx = 1, d = 16): R_ME >= 0.6 and replication >= 0.5; per sample, glyph presence
     and whole-image match tied with phi >= 0.6 there, phi <= 0.2 at n_ctx = 16 (phi undefined because a variable is
     constant fails the first and passes the second: a constant shows no tie);
  T3 R_MI >= 0.8 q for q in {0.9, 1.0}; the q = 0.5 feature rate in [0.3, 0.7];
  T4 stamp rate rises with s (Spearman >= 0.8), <= 0.05 at s = 1; texture replication >= 0.5 at d = 16;
  T5 from w = 1 to w = 7 the relative increase of R_MU (glyph, scene and duplicate prompts) exceeds that of R_ME
     (glyph prompts);
  T6 (OUR hypothesis, not the paper's) word insertion (p = 0.3) or embedding noise (lambda = 0.1) lowers R_MU by a
     relative amount >= 0.1 and >= 2x the relative amount it lowers R_ME (same seeds);
  T7 the closed-form ideal memorizer on 1,000 samples (DDIM over all T timesteps): R_ME and whole-image match within 0.02
     of 1, member frequencies within 4 binomial standard errors + 0.01 of m_i / sum m (the 0.01: DDIM's discretisation
     bias, measured <= 0.0054 with T = 200 steps on 20,000 samples of pilot seeds 10 and 11; with 20 steps it was 0.026
     and 0.041, NOTES.md).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ... import elements as el
from ...stats import spearman
from ...study import Claim, Scale, seed_subsets
from .analysis import events, group_mean, label, params_of


def panel(evidence, name: str) -> xr.Dataset:
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return events(label(evidence[name].copy()))  # relabelled on every read: cheap, and saved labels may predate a fix


def _glyph(ds, n, d):
    return (np.asarray(ds["prompt_class"].values) == "glyph") & (np.asarray(ds["prompt_n"].values) == n) & (np.asarray(ds["prompt_d"].values) == d)


def _mean(ds, var, w, sel) -> float:
    return float(group_mean(ds, var, w, sel).mean()) if np.any(sel) else float("nan")


def check_t1(me, rep, me_min=0.8, rep_max=0.05) -> tuple[str, bool]:
    """T1: me >= me_min and rep <= rep_max (at n_ctx >= 16)."""
    return f"R_ME {me:.2f}, replication {rep:.3f}", bool(me >= me_min and rep <= rep_max)


def check_t2(me, rep, phi_rare, phi_many, me_min=0.6, rep_min=0.5, phi_min=0.6, phi_max=0.2, d=16, n=16) -> tuple[str, bool]:
    """T2: under-represented R_ME >= me_min, replication >= rep_min, phi >= phi_min; phi at many contexts <= phi_max
    (NaN, a constant variable, counts as no tie there and as failure for the rare entity)."""
    ok = me >= me_min and rep >= rep_min and np.isfinite(phi_rare) and phi_rare >= phi_min and (not np.isfinite(phi_many) or phi_many <= phi_max)
    return f"n_ctx=1 d={d}: R_ME {me:.2f}, replication {rep:.2f}, phi {phi_rare:.2f}; n_ctx={n}: phi {phi_many:.2f}", bool(ok)


def check_t3(q, mi, feature, share=0.8, band=(0.3, 0.7), rho=0.9) -> tuple[str, bool]:
    """T3: for q >= rho R_MI >= share q; for q = 0.5 the feature rate in band."""
    q, mi, feature = (np.asarray(v, float) for v in (q, mi, feature))
    hi, half = q >= rho, np.isclose(q, 0.5)
    ok = bool(hi.any() and half.any() and np.all(mi[hi] >= share * q[hi]) and np.all((feature[half] >= band[0]) & (feature[half] <= band[1])))
    return "; ".join(f"q={a:g}: R_MI {b:.2f}, feature {c:.2f}" for a, b, c in zip(q, mi, feature)), ok


def check_t4(s, stamp, dup_rep, rho_min=0.8, low_max=0.05) -> tuple[str, bool]:
    """T4: Spearman(s, stamp rate) >= rho_min; rate at s = 1 <= low_max; texture replication at d = 16 >= 0.5."""
    s, stamp = np.asarray(s), np.asarray(stamp, float)
    rho = spearman(s, stamp)
    ok = bool(np.isfinite(rho) and rho >= rho_min and (1 not in s or stamp[s == 1][0] <= low_max) and dup_rep >= 0.5)
    return f"stamp rate {', '.join(f's={a}: {b:.3f}' for a, b in zip(s, stamp))} (Spearman {rho:.2f}); texture replication at d=16 {dup_rep:.2f}", ok


def relative_change(a, b) -> float:
    """(b - a) / a; +inf when a = 0 < b, NaN when both are 0."""
    if a > 0:
        return (b - a) / a
    return float("inf") if b > 0 else float("nan")


def check_t5(me1, me7, mu1, mu7) -> tuple[str, bool]:
    """T5: relative increase of MU from w = 1 to 7 > that of ME."""
    rme, rmu = relative_change(me1, me7), relative_change(mu1, mu7)
    ok = bool(np.isfinite(rme) and not np.isnan(rmu) and rmu > rme)
    return f"R_ME {me1:.2f} -> {me7:.2f} ({rme:+.0%}); R_MU {mu1:.3f} -> {mu7:.3f} ({rmu:+.0%})", ok


def check_t6(me0, me1, mu0, mu1, factor=2.0, floor=0.1) -> tuple[str, bool]:
    """T6: relative MU cut >= floor and >= factor x relative ME cut (a cut = -relative change)."""
    cme, cmu = -relative_change(me0, me1), -relative_change(mu0, mu1)
    ok = bool(np.isfinite(cmu) and np.isfinite(cme) and cmu >= floor and cmu >= factor * cme)
    return f"R_ME {me0:.2f} -> {me1:.2f} (cut {cme:+.0%}); R_MU {mu0:.3f} -> {mu1:.3f} (cut {cmu:+.0%})", ok


def check_t7(me, mu, dev, tol, slack=0.02) -> tuple[str, bool]:
    """T7: |me - 1| <= slack where defined, |mu - 1| <= slack, dev <= tol, for every anchor and seed."""
    me, mu, dev, tol = (np.asarray(v, float).ravel() for v in (me, mu, dev, tol))
    fin = np.isfinite(me)
    ok = bool(mu.size and np.all(np.abs(me[fin] - 1) <= slack) and np.all(np.abs(mu - 1) <= slack) and np.all(dev <= tol))
    worst = int(np.argmax(dev / tol))
    return (f"R_ME min {np.min(me[fin]) if fin.any() else np.nan:.3f}; match min {mu.min():.3f}; member-frequency deviation / "
            f"tolerance at most {dev[worst]:.3f} / {tol[worst]:.3f} ({mu.size} anchors x seeds)"), ok


def _by_subsets(check, cells):
    def go(evidence):
        ds = panel(evidence, cells.main)
        parts = [(name, check(sub)) for name, sub in seed_subsets(ds, cells.pilot_seeds).items()]
        return "; ".join(f"{n}: {m}" for n, (m, _) in parts), all(ok for _, (_, ok) in parts)
    return go


def _phi(ds, w, sel) -> float:
    idx = np.flatnonzero(sel)
    if not idx.size:
        return float("nan")
    a = ds["elem"].sel(w=w).isel(prompt=idx).values
    b = ds["own"].sel(w=w).isel(prompt=idx).values
    return el.phi(a, b)


def claims(scale: Scale) -> list[Claim]:
    cells = scale.cells
    w = cells.main_w

    def t1(ds):
        sel = (np.asarray(ds["prompt_class"].values) == "glyph") & (np.asarray(ds["prompt_n"].values) >= cells.big_n) & (np.asarray(ds["prompt_d"].values) == 1)
        return check_t1(_mean(ds, "n_me", w, sel), _mean(ds, "own", w, sel))

    def t2(ds):
        rare, many = _glyph(ds, 1, cells.dup_d), _glyph(ds, cells.big_n, 1)
        return check_t2(_mean(ds, "n_me", w, rare), _mean(ds, "own", w, rare), _phi(ds, w, rare), _phi(ds, w, many), d=cells.dup_d,
                        n=cells.big_n)

    def t3(ds):
        cls, q = np.asarray(ds["prompt_class"].values), np.asarray(ds["prompt_q"].values)
        qs = sorted(set(q[cls == "scene"]))
        rho = params_of(ds).rho if "config" in ds.attrs else 0.9
        return check_t3(qs, [_mean(ds, "n_mi", w, (cls == "scene") & (q == v)) for v in qs],
                        [_mean(ds, "elem", w, (cls == "scene") & (q == v)) for v in qs], rho=rho)

    def t4(ds):
        cls, s, d = (np.asarray(ds[k].values) for k in ("prompt_class", "prompt_s", "prompt_d"))
        ss = sorted(set(s[(cls == "scene") & (s > 0)]))
        dup = (cls == "dup") & (d == max(d[cls == "dup"])) if (cls == "dup").any() else cls == "dup"
        return check_t4(ss, [_mean(ds, "stamp", w, (cls == "scene") & (s == v)) for v in ss], _mean(ds, "own", w, dup))

    def t5(ds):
        cls = np.asarray(ds["prompt_class"].values)
        ws = ds["w"].values
        lo, hi = float(ws.min()), float(ws.max())
        mu_sel = np.isin(cls, ("glyph", "scene", "dup"))
        return check_t5(_mean(ds, "n_me", lo, cls == "glyph"), _mean(ds, "n_me", hi, cls == "glyph"),
                        _mean(ds, "n_mu", lo, mu_sel), _mean(ds, "n_mu", hi, mu_sel))

    def t6(name):
        def go(evidence):
            base, mit = panel(evidence, cells.main), panel(evidence, name)
            if "seed" in mit.dims and "seed" in base.dims:
                seeds = [s for s in mit["seed"].values.tolist() if s in base["seed"].values.tolist()]
                base, mit = base.sel(seed=seeds), mit.sel(seed=seeds)
            cls = np.asarray(base["prompt_class"].values)
            mu_sel = np.isin(cls, ("glyph", "scene", "dup"))
            return check_t6(_mean(base, "n_me", w, cls == "glyph"), _mean(mit, "n_me", w, cls == "glyph"),
                            _mean(base, "n_mu", w, mu_sel), _mean(mit, "n_mu", w, mu_sel))
        return go

    def t7(evidence):
        ds = panel(evidence, cells.main)
        return check_t7(ds["anchor_me"].values, ds["anchor_mu"].values, ds["anchor_dev"].values, ds["anchor_tol"].values)

    def claim(name, prediction, tolerance, check):
        return Claim(name, prediction, tolerance, check, not_reproduced=cells.gap(name))

    return [
        claim("T1 ME without MU at many contexts", f"a glyph seen on n_ctx >= {cells.big_n} distinct images is drawn, not copied",
              "R_ME >= 0.8 and whole-image replication <= 0.05", _by_subsets(t1, cells)),
        claim("T2 under-represented entity tension", f"a glyph seen on one image x {cells.dup_d} is drawn by copying that image",
              f"n_ctx=1, d={cells.dup_d}: R_ME >= 0.6, replication >= 0.5, phi(glyph, match) >= 0.6; phi <= 0.2 at n_ctx={cells.big_n}",
              _by_subsets(t2, cells)),
        claim("T3 MI tracks association", "an unnamed feature appears at its training rate q; none spurious at q = 0.5",
              "R_MI >= 0.8 q for q in {0.9, 1}; feature rate at q = 0.5 in [0.3, 0.7]", _by_subsets(t3, cells)),
        claim("T4 MU grows with duplication", "a private stamp reappears more the more images carry it; duplicated textures are copied",
              "Spearman(s, stamp rate) >= 0.8; stamp rate <= 0.05 at s = 1; texture replication >= 0.5 at d = 16", _by_subsets(t4, cells)),
        claim("T5 guidance amplifies MU faster than ME", "raising guidance w = 1 -> 7 raises unintended events relatively more than explicit ones",
              "relative increase of R_MU > relative increase of R_ME", _by_subsets(t5, cells)),
        claim("T6a word insertion balances (our hypothesis)", f"OUR hypothesis, not the paper's: word insertion (p = {cells.insert_p}) "
              "cuts MU at least twice as much as ME", "relative MU cut >= 0.1 and >= 2 x relative ME cut", t6(cells.insert)),
        claim("T6b embedding noise balances (our hypothesis)", f"OUR hypothesis, not the paper's: embedding noise (lambda = {cells.noise_lambda}) "
              "cuts MU at least twice as much as ME", "relative MU cut >= 0.1 and >= 2 x relative ME cut", t6(cells.noise)),
        claim("T7 ideal-memorizer sanity check", "the closed-form memorizer reproduces its analytic rates through sampler and detectors",
              "R_ME and match within 0.02 of 1 on 1,000 samples (DDIM over all T steps); member frequency within 4 SE + 0.01 of "
              "m_i / sum m (0.01: the discretisation bias, <= 0.0054 measured on pilot seeds 10-11 with 20,000 samples)", t7),
    ]
