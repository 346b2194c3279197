"""Claims of the `over-memorization` study: the toy design's D1-D6 for Lin, Yu, Han, Liu, "On the
Over-Memorization During Natural, Robust and Catastrophic Overfitting" (ICLR 2024, arXiv 2310.08847).

Each check is a module-level function taking a summarized panel (``analysis.summarize``), so tests
feed it wrong inputs. Evidence is {panel: Dataset} with the panels of ``scales.Cells``. Tolerances
(stated here and in each Claim; accuracies in points = 100 x fraction):
  * D1 natural overfitting (Sec. 3), baseline under 30 % label noise, in every seed:
    best - last test accuracy >= 5 points; share of noisy labels fitted at the end >= 50 %;
  * D2 the signature (Sec. 3): in every baseline seed, the epoch at which the low-loss share
    (loss < T) has risen halfway lies within 5 epochs of the epoch at which test accuracy has fallen
    halfway (both counted from the test peak, 5-epoch trailing means, ``analysis.decline_and_jump``);
    persistence (Sec. 3, Fig. 2): once both high-confidence groups are removed, the loss of the
    'transformed' group rises by less than that of the 'original' group, in every seed;
  * D3 DOM (Sec. 5, Algorithm 1; the natural-training tables in spirit): DOM_DA's seed-mean last test accuracy above the baseline's, and
    its seed-mean share of noisy labels fitted below the baseline's; the augment-all control is reported
    beside it as measured, whichever way it goes;
  * D4 robust overfitting (Sec. 4): baseline PGD-AT loses >= 5 points of PGD-20 accuracy from its best
    epoch to its last (seed mean), and DOM_RE and DOM_DA lose less;
  * D5 catastrophic overfitting (Sec. 4): some FGSM run's robust accuracy falls from >= 30 % to <= 5 %
    within 3 epochs while its FGSM training accuracy rises;
  * D6 detection transfer (Sec. 4, the ten-group ranking): in every baseline PGD-AT seed, the most confident decile by
    natural loss and by adversarial loss overlap by >= 0.7.
Claims whose cells were chosen on pilot seeds report, and need, the pilot seeds and the others
separately. Where the pilots showed a scale does not reproduce a prediction, its ``Cells`` say why and
the claim is reported NOT REPRODUCED when it fails (same tolerance, never loosened).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...study import Claim, Scale, seed_subsets
from .params import AUGMENT_ALL, BASELINE, DOM_DA, DOM_RE, PERSISTENCE

GAP_MIN = 0.05  # D1: best - last test accuracy
NOISY_FIT_MIN = 0.5  # D1: share of noisy labels fitted
WITHIN = 5  # D2: epochs between the halfway jump and the halfway decline
RO_GAP_MIN = 0.05  # D4: best - last robust accuracy
OVERLAP_MIN = 0.7  # D6: top-decile overlap


def panel(evidence, name: str) -> xr.Dataset:
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return evidence[name]


def variant(ds: xr.Dataset, v: int) -> xr.Dataset:
    if "variant" not in ds.dims:
        raise KeyError("the panel has no variant axis")
    if v not in ds["variant"].values:
        raise KeyError(f"variant {v} not in the results ({ds['variant'].values.tolist()})")
    return ds.sel(variant=v)


def _pts(values) -> str:
    return ", ".join(f"{100 * v:.1f}" for v in np.atleast_1d(values))


def _mean(da: xr.DataArray) -> float:
    return float(da.mean()) if da.size else np.nan


def check_natural_gap(noise: xr.Dataset, pilot_seeds=(), clean: xr.Dataset | None = None, gap_min: float = GAP_MIN):
    """Baseline best - last test accuracy >= gap_min in every seed (pilot and other seeds both present)."""
    base = variant(noise, BASELINE)
    parts, ok = [], True
    for name, sub in seed_subsets(base, pilot_seeds).items():
        gap = np.atleast_1d(sub["acc_gap"].values)
        ok &= bool(np.all(gap >= gap_min))
        parts.append(f"{name}: best - last {_pts(gap)} pts (best {_pts(sub['best_acc'].values)} at epochs "
                     f"{', '.join(str(int(e)) for e in np.atleast_1d(sub['best_epoch'].values))}; last {_pts(sub['last_acc'].values)})")
    if clean is not None:
        parts.append(f"without noise: best - last {_pts(variant(clean, BASELINE)['acc_gap'].values)} pts")
    return "; ".join(parts), ok


def check_noisy_fit(noise: xr.Dataset, pilot_seeds=(), fit_min: float = NOISY_FIT_MIN):
    base = variant(noise, BASELINE)
    parts, ok = [], True
    for name, sub in seed_subsets(base, pilot_seeds).items():
        fit = np.atleast_1d(sub["noisy_fit_last"].values)
        ok &= bool(np.all(fit >= fit_min))
        parts.append(f"{name}: {_pts(fit)} % of noisy labels fitted")
    return "; ".join(parts), ok


def check_jump(noise: xr.Dataset, pilot_seeds=(), within: int = WITHIN):
    """|jump epoch - decline epoch| <= within in every baseline seed."""
    base = variant(noise, BASELINE)
    parts, ok = [], True
    for name, sub in seed_subsets(base, pilot_seeds).items():
        d, j = np.atleast_1d(sub["decline_epoch"].values), np.atleast_1d(sub["jump_epoch"].values)
        good = np.isfinite(d) & np.isfinite(j) & (np.abs(j - d) <= within)
        ok &= bool(np.all(good))
        parts.append(f"{name}: decline / jump epochs " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(d, j)))
    return "; ".join(parts), ok


def check_persistence(noise: xr.Dataset, pilot_seeds=()):
    """After removal, the transformed group's loss rises by less than the original group's, in every seed
    (a seed mean would let one outlier seed pass two groups that are forgotten alike)."""
    run = variant(noise, PERSISTENCE)
    parts, ok = [], True
    for name, sub in seed_subsets(run, pilot_seeds).items():
        o, t = np.atleast_1d(sub["orig_rise"].values), np.atleast_1d(sub["trans_rise"].values)
        ok &= bool(np.all(np.isfinite(o) & np.isfinite(t) & (t < o)))
        parts.append(f"{name}: loss rise original / transformed " + ", ".join(f"{a:+.3f}/{b:+.3f}" for a, b in zip(o, t))
                     + f" nats (groups of {_mean(sub['orig_size']):.0f} and {_mean(sub['trans_size']):.0f} samples)")
    return "; ".join(parts), ok


def _compare(noise: xr.Dataset, pilot_seeds, var: str, better) -> tuple[list[str], bool]:
    parts, ok = [], True
    for name, sub in seed_subsets(noise, pilot_seeds).items():
        b, da = _mean(variant(sub, BASELINE)[var]), _mean(variant(sub, DOM_DA)[var])
        ok &= bool(np.isfinite(b) and np.isfinite(da) and better(da, b))
        extra = [f"{label} {100 * _mean(variant(sub, v)[var]):.1f}" for v, label in ((DOM_RE, "DOM_RE"), (AUGMENT_ALL, "augment-all control"))
                 if v in sub["variant"].values]
        parts.append(f"{name}: DOM_DA {100 * da:.1f} vs baseline {100 * b:.1f}" + (f" ({', '.join(extra)})" if extra else ""))
    return parts, ok


def check_dom_accuracy(noise: xr.Dataset, pilot_seeds=()):
    """DOM_DA's seed-mean last test accuracy > the baseline's; the control and DOM_RE reported beside."""
    parts, ok = _compare(noise, pilot_seeds, "last_acc", lambda da, b: da > b)
    return "last test acc (%): " + "; ".join(parts), ok


def check_dom_noisy(noise: xr.Dataset, pilot_seeds=()):
    """DOM_DA's seed-mean share of noisy labels fitted < the baseline's."""
    parts, ok = _compare(noise, pilot_seeds, "noisy_fit_last", lambda da, b: da < b)
    return "noisy labels fitted (%): " + "; ".join(parts), ok


def check_overlap(pgd: xr.Dataset, pilot_seeds=(), overlap_min: float = OVERLAP_MIN):
    base = variant(pgd, BASELINE)
    parts, ok = [], True
    for name, sub in seed_subsets(base, pilot_seeds).items():
        ov = np.atleast_1d(sub["overlap"].values)
        ok &= bool(np.all(np.isfinite(ov)) and np.all(ov >= overlap_min))
        parts.append(f"{name}: " + ", ".join(f"{v:.2f}" for v in ov))
    eps = float(np.atleast_1d(pgd["epsilon_levels"].values).ravel()[0]) / 16 if "epsilon_levels" in pgd else np.nan
    return f"top-decile overlap at epsilon {eps:g} ([0, 1] scale): " + "; ".join(parts), ok


def check_robust_overfitting(pgd: xr.Dataset, gap_min: float = RO_GAP_MIN):
    """Baseline seed-mean best - last PGD accuracy >= gap_min, and DOM_RE's and DOM_DA's gaps smaller."""
    gaps = {v: _mean(variant(pgd, v)["robust_gap"]) for v in (BASELINE, DOM_RE, DOM_DA)}
    last = {v: _mean(variant(pgd, v)["robust_last"]) for v in (BASELINE, DOM_RE, DOM_DA)}
    ok = bool(gaps[BASELINE] >= gap_min and gaps[DOM_RE] < gaps[BASELINE] and gaps[DOM_DA] < gaps[BASELINE])
    text = ", ".join(f"{n} {100 * gaps[v]:.1f} (last {100 * last[v]:.1f})" for v, n in ((BASELINE, "baseline"), (DOM_RE, "DOM_RE"), (DOM_DA, "DOM_DA")))
    return f"PGD-20 best - last (pts): {text}", ok


def check_catastrophic(fgsm: xr.Dataset):
    """Some FGSM run collapses (analysis.collapse_epoch finite)."""
    co = fgsm["co_epoch"]
    peak, last = fgsm["robust_best"], fgsm["robust_last"]
    dims = [d for d in co.dims]
    rows = [f"{', '.join(f'{d}={fgsm[d].values[i]}' for d, i in zip(dims, idx))}: best {100 * float(peak.values[idx]):.1f}, last "
            f"{100 * float(last.values[idx]):.1f}" for idx in np.ndindex(co.shape)]
    hit = np.isfinite(co.values)
    return f"robust acc (%) {'; '.join(rows)}; collapses at epochs {co.values[hit].tolist()}", bool(hit.any())


def claims(scale: Scale) -> list[Claim]:
    c = scale.cells
    pilot = c.pilot_seeds
    return [
        Claim("D1: natural overfitting under 30 % label noise", "test accuracy declines from its best epoch (Sec. 3)",
              "best - last >= 5 pts in every baseline seed",
              lambda ev: check_natural_gap(panel(ev, c.noise), pilot, ev[c.clean] if c.clean in ev else None)),
        Claim("D1: noisy labels fitted", "the network memorizes the noisy labels", ">= 50 % in every baseline seed",
              lambda ev: check_noisy_fit(panel(ev, c.noise), pilot)),
        Claim("D2: low-loss share jumps with the test decline", "over-memorization coincides with the decline (Sec. 3)",
              "halfway epochs within 5 epochs, every baseline seed", lambda ev: check_jump(panel(ev, c.noise), pilot),
              not_reproduced=c.jump_not_reproduced),
        Claim("D2: transformed HC memory persists", "removed transformed HC keep low loss, original HC do not (Sec. 3, Fig. 2)",
              "rise: transformed < original, every seed", lambda ev: check_persistence(panel(ev, c.noise), pilot),
              not_reproduced=c.persistence_not_reproduced),
        Claim("D3: DOM_DA beats baseline (last acc)", "distracting over-memorized samples helps (Sec. 5, Alg. 1)",
              "seed-mean last acc DOM_DA > baseline, pilot and other seeds", lambda ev: check_dom_accuracy(panel(ev, c.noise), pilot)),
        Claim("D3: DOM_DA fits fewer noisy labels", "DOM_DA keeps noisy labels from being memorized",
              "seed-mean noisy fit DOM_DA < baseline, pilot and other seeds", lambda ev: check_dom_noisy(panel(ev, c.noise), pilot)),
        Claim("D4: robust overfitting, DOM shrinks it", "PGD-AT robust accuracy declines; DOM_RE / DOM_DA reduce it (Sec. 4; the PGD-AT table)",
              "baseline best - last >= 5 pts; DOM gaps smaller", lambda ev: check_robust_overfitting(panel(ev, c.pgd)),
              not_reproduced=c.ro_not_reproduced),
        Claim("D5: catastrophic overfitting in FGSM AT", "PGD accuracy collapses suddenly (Sec. 4, Wong et al.)",
              ">= 30 % to <= 5 % within 3 epochs, FGSM train acc rising", lambda ev: check_catastrophic(panel(ev, c.fgsm)),
              not_reproduced=c.co_not_reproduced),
        Claim("D6: natural loss detects adversarial HC", "top deciles by natural and adversarial loss overlap (Sec. 4: about 0.9)",
              ">= 0.7 in every baseline PGD-AT seed", lambda ev: check_overlap(panel(ev, c.pgd), pilot)),
    ]
