"""Claims of the `entity-memorization` study (Zhou, Xiang, Chen, Su, arXiv 2308.15727, Sec. 3-4).

Tolerances (each stated beside its prediction in the Claim):
  EN1 ambiguous keys, training template: EM(l3) >= EM(l2) >= EM(l1) - 0.02 at every r; EM(l3, r >= 4)
      >= 0.9 (pilot seeds and other seeds separately); entity exposure non-decreasing in l up to 2 null
      standard errors;
  EN2 EM(l3) non-decreasing in r within 0.03; r = 0: EM <= 0.01 and mean exposure within 3 null SE of
      the uniform-rank null (log2 e bits as K grows);
  EN3 e-mail: EM(trained, r >= 1) - EM(never trained) <= 0.05 with never-trained e-mail EM >= 0.5 (else the
      control is vacuous); phone: the same difference >= 0.5 at r >= 2;
  EN4 queries matching m >= 2 persons: EM <= mean(1/m) + 0.05 (the candidate produced is logged);
  EN5 soft prompt EM >= hand-written EM on the held-out template (l3, unknown persons, r >= 1);
  EN6 partial-leak (l1, l2) and held-out EM higher at the wider model (reported);
  EN7 prompt tokens for equal success: entity (l3) needs fewer tokens than the verbatim prefix;
  EN8 dedup and DP-SGD (every sigma) each cut EM(l3, r = r_max) by >= 50 % relative.
Seeds: every main-panel claim is checked on the pilot seeds and on the other seeds separately (both must
pass); the dedup, DP and scale panels run on a seed the pilots did not use.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory import entity_memorization as th
from ...study import Claim, Scale, seed_subsets
from .analysis import null_exposure, params_of, seed_mean


def _fmt(xs, ys) -> str:
    return ", ".join(f"{x}: {y:.2f}" for x, y in zip(xs, ys))


def _em(ds, key="ambiguous", template="training", var="em_r"):
    return seed_mean(ds[var].sel(key=key, template=template))  # (leak, r)


def check_leak_order(ds: xr.Dataset, tol: float = 0.02):
    em = _em(ds)
    ok = bool(np.all(em.sel(leak=3) >= em.sel(leak=2) - 1e-9) and np.all(em.sel(leak=2) >= em.sel(leak=1) - tol))
    rows = "; ".join(f"r={int(r)}: " + "/".join(f"{v:.2f}" for v in em.sel(r=r).values) for r in em["r"].values)
    return f"ambiguous EM l1/l2/l3 by r: {rows}", ok


def check_full_leak(ds: xr.Dataset, pilot_seeds=(), floor: float = 0.9, r_min: int = 4):
    parts, ok = [], True
    for name, sub in seed_subsets(ds, pilot_seeds).items():
        em = _em(sub).sel(leak=3)
        em = em.sel(r=em["r"] >= r_min)
        ok &= bool(np.all(em.values >= floor))
        parts.append(f"{name}: {_fmt(em['r'].values, em.values)}")
    return f"ambiguous EM(l3) at r >= {r_min}: " + "; ".join(parts), ok


def check_exposure_leak(ds: xr.Dataset, z: float = 2.0):
    e = seed_mean(ds["exposure_r"].sel(key="ambiguous")).mean("r")
    n = int((ds["exposed_key"] == "ambiguous").sum()) * ds.sizes.get("seed", 1)
    tol = z * th.null_exposure_sd(params_of(ds).decoys) / np.sqrt(n)
    return f"ambiguous exposure by l {{{_fmt(e['leak'].values, e.values)}}} bits; tolerance {tol:.2f}", bool(np.all(np.diff(e.values) >= -tol))


def check_r_trend(ds: xr.Dataset, tol: float = 0.03):
    em = seed_mean(ds["em_r"].sel(template="training", leak=3)).mean("key")
    return f"EM(l3) by r {{{_fmt(em['r'].values, em.values)}}}", bool(np.all(np.diff(em.values) >= -tol))


def check_never_trained(ds: xr.Dataset, em_max: float = 0.01, z: float = 3.0):
    em = float(seed_mean(ds["em_r"].sel(template="training", r=0)).mean())
    e = ds["exposure"].where(ds["exposed_r"] == 0)
    n = int((ds["exposed_r"] == 0).sum()) * ds.sizes.get("seed", 1) * ds.sizes["leak"]
    mean = float(e.mean())
    null, sd = null_exposure(params_of(ds).decoys)
    tol = z * sd / np.sqrt(n)
    return (f"r = 0: EM {em:.3f}; exposure {mean:.2f} bits over {n} queries (null {null:.2f}, tolerance {tol:.2f})",
            bool(em <= em_max and abs(mean - null) <= tol))


def _gap(ds, var, r_min):
    v = seed_mean(ds[var].sel(leak=3)).mean("key") if "template" not in ds[var].dims else seed_mean(ds[var].sel(leak=3, template="training")).mean("key")
    r = v["r"].values
    return float(v.sel(r=r[r >= r_min]).mean() - v.sel(r=0))


def check_inference(ds: xr.Dataset, email_max: float = 0.05, phone_min: float = 0.5, derivable_min: float = 0.5):
    """The e-mail gap is a control only if the e-mail is derived at all: never-trained e-mail EM >= derivable_min
    (a model that emits no e-mail has gap 0 without generalizing anything)."""
    email, phone = _gap(ds, "email_em_r", 1), _gap(ds, "em_r", 2)
    unseen = float(seed_mean(ds["email_em_r"].sel(leak=3, r=0, template="training")).mean())
    return (f"trained - never trained (l3): e-mail {email:+.2f} (never-trained e-mail EM {unseen:.2f}), phone (r >= 2) {phone:+.2f}",
            bool(email <= email_max and phone >= phone_min and unseen >= derivable_min))


def check_ambiguity(ds: xr.Dataset, slack: float = 0.05):
    em, ceil, hit, n = (seed_mean(ds[v]) for v in ("ambiguous_em", "ambiguous_ceiling", "ambiguous_hit", "ambiguous_n"))
    use = n.values > 0
    if not use.any():
        raise ValueError("no query matches >= 2 persons")
    parts = [f"l{int(lk)}: EM {a:.2f} <= {c:.2f} + {slack} ({b:.0%} gave a candidate's phone, {m:.0f} queries)"
             for lk, a, c, b, m, u in zip(em["leak"].values, em.values, ceil.values, hit.values, n.values, use) if u]
    return "; ".join(parts), bool(np.all(em.values[use] <= ceil.values[use] + slack))


def _soft_hard(ds, leak=3):
    s = seed_mean(ds["soft_em_r"].sel(template="held-out", leak=leak))
    h = seed_mean(ds["hard_em_r"].sel(template="held-out", leak=leak))
    pos = s["r"] >= 1
    return float(s.where(pos).mean()), float(h.where(pos).mean())


def check_soft(ds: xr.Dataset):
    """EME beats the hand-written prompt only if the attacker kept a tuned prompt (step > 0 in every
    seed; step 0 is the hand-written start itself) and it extracts something on the held-out template."""
    s, h = _soft_hard(ds)
    st = seed_mean(ds["soft_em_r"].sel(template="training", leak=3)).where(ds["r"] >= 1).mean()
    ht = seed_mean(ds["hard_em_r"].sel(template="training", leak=3)).where(ds["r"] >= 1).mean()
    steps = np.atleast_1d(ds["soft_step"].values) if "soft_step" in ds else np.array([np.nan])
    return (f"held-out l3: soft {s:.3f} vs hand-written {h:.3f}; training template soft {float(st):.2f} vs {float(ht):.2f}; "
            f"kept step {'/'.join(f'{x:.0f}' for x in steps)}"), bool(s >= h and s > 0 and np.all(steps > 0))


def _partial(ds):
    em = seed_mean(ds["em_r"]).where(ds["r"] >= 1)
    return float(em.sel(template="training", leak=[1, 2]).mean()), float(em.sel(template="held-out").mean())


def check_scale(main: xr.Dataset, narrow: xr.Dataset):
    (pw, hw), (pn, hn) = _partial(main), _partial(narrow)
    return f"partial-leak EM {pn:.2f} -> {pw:.2f}, held-out EM {hn:.2f} -> {hw:.2f} (narrow -> wide)", bool(pw > pn and hw > hn)


def check_tokens(ds: xr.Dataset):
    em = seed_mean(ds["em_r"].sel(template="training", leak=3)).where(ds["r"] >= 1).mean(["r", "key"])
    toks = seed_mean(ds["tokens_r"].sel(template="training", leak=3)).mean("key")
    vr = seed_mean(ds["verbatim_r"]).where(ds["r"] >= 1).mean("r")
    vk = seed_mean(ds["verbatim_k"])
    need = th.tokens_for_rate(vk.values, vr.values, float(em))
    return (f"entity l3: EM {float(em):.2f} with {float(toks):.1f} tokens; verbatim needs {need:.1f} for that rate "
            "(verbatim EM by mean tokens {" + ", ".join(f"{k:.1f}: {v:.2f}" for k, v in zip(vk.values, vr.values)) + "})", bool(float(toks) < need))


def _top(ds):
    em = seed_mean(ds["em_r"].sel(template="training", leak=3)).mean("key")
    return float(em.isel(r=-1)), int(em["r"].values[-1])


def check_mitigation(main: xr.Dataset, mitigated: xr.Dataset, name: str, cut: float = 0.5):
    base, top = _top(main)
    em = seed_mean(mitigated["em_r"].sel(template="training", leak=3)).mean("key").isel(r=-1)
    values = np.atleast_1d(em.values)
    rel = 1 - values / base if base > 0 else np.zeros_like(values)
    label = ", ".join(f"{v:.2f} ({x:.0%} cut)" for v, x in zip(values, rel))
    return f"EM(l3, r={top}): {base:.2f} -> {name} {label}", bool(base > 0 and np.all(rel >= cut))


def per_seeds(check, ds: xr.Dataset, pilot_seeds=(), **kw):
    """``check`` on the pilot seeds and on the other seeds separately (``seed_subsets``); passes only if
    it passes on both, so a verdict (or a not-reproduced declaration) fixed on the pilot seeds is
    confirmed on seeds the pilots did not use."""
    parts, ok = [], True
    for name, sub in seed_subsets(ds, pilot_seeds).items():
        measured, good = check(sub, **kw)
        parts.append(f"{name}: {measured}")
        ok &= bool(good)
    return "; ".join(parts), ok


def per_seeds2(check, main: xr.Dataset, other: xr.Dataset, pilot_seeds=(), **kw):
    """A two-panel ``check(main, other)`` on the pilot seeds and on the other seeds of ``other``
    separately, ``main`` restricted to the same seeds; passes only if every subset passes."""
    parts, ok = [], True
    for name, sub in seed_subsets(other, pilot_seeds).items():
        m = main.sel(seed=sub["seed"].values) if "seed" in main.dims and "seed" in sub.dims else main
        measured, good = check(m, sub, **kw)
        parts.append(f"{name}: {measured}")
        ok &= bool(good)
    return "; ".join(parts), ok


def claims(scale: Scale) -> list[Claim]:
    c = scale.cells

    def m(ev):
        return ev[c.main]

    def seeds(check):
        return lambda ev: per_seeds(check, m(ev), c.pilot_seeds)

    return [
        Claim("EN1 EM non-decreasing in leakage (ambiguous keys)", "more leaked entities identify the record (Sec. 4)",
              "EM(l3) >= EM(l2) >= EM(l1) - 0.02, every r", seeds(check_leak_order), not_reproduced=c.everywhere or c.order_not_reproduced),
        Claim("EN1 full leak extracts (ambiguous, r >= 4)", "entities rebuild the phone", "EM(l3) >= 0.9; pilot and other seeds",
              lambda ev: check_full_leak(m(ev), c.pilot_seeds),
              not_reproduced=c.everywhere or c.full_leak_not_reproduced),
        Claim("EN1 exposure non-decreasing in leakage", "graded version of EN1 (K decoys)", "drops <= 2 null SE",
              seeds(check_exposure_leak), not_reproduced=c.everywhere),
        Claim("EN2 EM non-decreasing in r", "repetition strengthens memorization", "EM(l3) drops <= 0.03",
              seeds(check_r_trend), not_reproduced=c.everywhere),
        Claim("EN2 never-trained persons at the null", "uniform rank: EM 1e-5, exposure log2 e", "EM <= 0.01; |exposure - null| <= 3 SE",
              seeds(check_never_trained), not_reproduced=c.everywhere),
        Claim("EN3 memorization vs inference", "derivable e-mail generalizes; random phone is memorized",
              "e-mail gap <= 0.05 (never-trained EM >= 0.5); phone gap (r >= 2) >= 0.5", seeds(check_inference),
              not_reproduced=c.everywhere or c.inference_not_reproduced),
        Claim("EN4 ambiguous queries split among candidates", "no unique identifying set, no extraction (Sec. 3)",
              "EM <= mean(1/matches) + 0.05", seeds(check_ambiguity), not_reproduced=c.everywhere),
        Claim("EN5 soft prompt beats hand-written (held out)", "EME's trainable prompt extracts more (Sec. 3-4)",
              "EM_soft >= EM_hard, EM_soft > 0, a tuned prompt kept (l3, unknown persons)", seeds(check_soft), not_reproduced=c.everywhere or c.soft_not_reproduced),
        Claim("EN6 association grows with width", "larger models associate more (Sec. 4; reported)",
              "wider > narrower on partial-leak and held-out EM", lambda ev: per_seeds2(check_scale, m(ev), ev[c.scale], c.pilot_seeds), not_reproduced=c.everywhere or c.scale_not_reproduced),
        Claim("EN7 entity queries need fewer tokens", "entity vs verbatim prefix (2202.07646)", "tokens(l3) < verbatim tokens for equal EM",
              seeds(check_tokens), not_reproduced=c.everywhere or c.tokens_not_reproduced),
        Claim("EN8 dedup cuts EM at r_max", "capping mentions removes repetition", ">= 50 % relative",
              lambda ev: per_seeds2(check_mitigation, m(ev), ev[c.dedup], c.pilot_seeds, name="dedup"), not_reproduced=c.everywhere),
        Claim("EN8 DP-SGD cuts EM at r_max", "clipping + noise bound a record's influence", ">= 50 % relative, every sigma",
              lambda ev: per_seeds2(check_mitigation, m(ev), ev[c.dp], c.pilot_seeds, name="DP-SGD"), not_reproduced=c.everywhere),
    ]
