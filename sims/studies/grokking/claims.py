"""Claims of the `grokking` study (arXiv 2310.13061; arXiv 2301.02679 for the analytic solution).

1-2: the analytic solution and the IPR convention (Eqs. 2-4; no training). 3-9 read a scale's sweep:
grokking (Fig. 2), phases of named cells (Figs. 1, 3; App. C), unlearning after grokking (Fig. 1), IPR
bimodality (Fig. 4), IPR-ranked pruning (Figs. 6, 17), BatchNorm's mechanism and its inversion (Fig. 5;
8, 8b), prunable fraction vs width (App. Q). 10-13 (architecture_claims.py): other losses, activations and architectures (Apps. M, N,
Fig. 7). Cells, p and the scale-dependent thresholds come from ``Scale.cells`` (scales.py; the reasons:
NOTES.md). Where a scale's cells or thresholds were chosen from pilot runs (``Cells.pilot_seeds``), a
claim reports the pilot seeds and the others apart and passes only if it holds on the others too
(``analysis.pilot_verdict``). The checks take their inputs as arguments, so tests feed them
deliberately wrong inputs and see them fail.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from ....theory import grokking as theory
from ...stats import spearman
from ...study import Claim, Scale
from .analysis import (
    UNLEARNED,
    cell,
    first_step_at_or_above,
    first_step_reached,
    panel,
    phase_at,
    pilot_verdict,
    pruned_at,
    runs_by_seed,
    seed_of,
    unlearning_step,
)
from .architecture_claims import architecture_claims, check_ce_band, check_mlp3, check_relu_needs_wd, check_transformer  # noqa: F401 (claims 10-13)
from .scales import Cells

Phase = theory.Phase


def _fmt_pct(x) -> str:
    return f"{100 * float(x):.1f}%"


# ---- 1. Analytic solution


def check_analytic(p: int = 97, widths=(256, 500), small_width: int | None = None, draws: int = 20, amplitude_sign: int = +1):
    """Gromov's solution with A = (2/N)^(1/3): 100 % in 20/20 draws for N >= 256; correct logit 1 +- 0.05;
    wrong std * sqrt(N)/2 in [0.9, 1.1]; MSE * N/4 in [0.85, 1.15]; < 100 % in some draw at N = p/2;
    and sympy's bookkeeping (coherent 1/2, variance 1) gives the same predictions."""
    small_width = small_width or p // 2
    parts, ok = [], True
    for N in widths:
        stats = _solution_stats(p, N, draws, amplitude_sign)
        perfect = int(np.sum(stats["accuracy"] == 1.0))
        c, s, m = (float(np.mean(stats[k])) for k in ("correct_logit", "wrong_std_scaled", "mse_scaled"))
        ok &= perfect == draws and abs(c - 1) <= 0.05 and 0.9 <= s <= 1.1 and 0.85 <= m <= 1.15
        parts.append(f"N {N}: {perfect}/{draws} perfect, logit {c:.3f}, std {s:.3f}, mse {m:.3f}")
    small = _solution_stats(p, small_width, draws, amplitude_sign)
    imperfect = int(np.sum(small["accuracy"] < 1.0))
    ok &= imperfect >= 1
    parts.append(f"N {small_width}: {imperfect}/{draws} imperfect (min {_fmt_pct(small['accuracy'].min())})")
    pred = theory.predicted_logit_statistics(500)
    ok &= abs(pred["correct_logit"] - 1) < 1e-12 and abs(pred["wrong_std"] * np.sqrt(500) / 2 - 1) < 1e-12
    return "; ".join(parts), ok


@functools.cache
def _solution_stats(p, N, draws, sign):
    return theory.solution_statistics(p, N, draws, amplitude_sign=sign)


# ---- 2. IPR conventions


def check_ipr(full_fft: bool = False):
    """Eq. 2 rows score 1 +- 1e-6 (rfft); Gaussian rows at p 97 average 0.040 +- 0.003; and the full-FFT
    variant scores a cosine 0.5 (the convention trap is detectable)."""
    U, V, W = theory.periodic_solution(97, 500, seed=0)
    eq2 = np.asarray(theory.neuron_ipr(U, V, W, full_fft=full_fft))
    gauss = theory.reference_ipr(97, "gaussian", full_fft=full_fft)
    cosine_full = theory.reference_ipr(97, "cosine", full_fft=True)
    ok = np.max(np.abs(eq2 - 1)) <= 1e-6 and abs(gauss - 0.040) <= 0.003 and abs(cosine_full - 0.5) <= 1e-6
    return f"Eq.2 max |IPR-1| {np.max(np.abs(eq2 - 1)):.1e}; Gaussian {gauss:.4f}; cosine (full FFT) {cosine_full:.3f}", ok


# ---- 3-6. Sweep claims


def check_grokking(ds: xr.Dataset, at=(0.5, 0.0, 5.0), train_by=40, test_by=60, ipr_by=100):
    """Clean grokking: train >= 99 % by step 40, test >= 99 % by step 60, mean IPR >= 0.7 by step 100."""
    c = cell(ds, *at)
    tr, te, ip = first_step_reached(c, "train_acc", 0.99), first_step_reached(c, "test_acc", 0.99), first_step_reached(c, "mean_ipr", 0.7)
    return f"train 99% at step {tr:g}, test 99% at {te:g}, IPR 0.7 at {ip:g}", tr <= train_by and te <= test_by and ip <= ipr_by


def check_phases(ds: xr.Dataset, cells: Cells, p: int):
    """Named cells land in their phases; Partial Inversion train in [boundary, 90 %); Full Inversion
    train within 1 point of 100(1 - xi + xi/p), corrupted-subset accuracy <= 2/p, test >= 99 %."""
    parts, ok = [], True
    for (a, x, w), step, expected in cells.phases:
        c = cell(ds, a, x, w)
        upto = c.sel(step=slice(None, step)) if step is not None else c
        last = upto.isel(step=-1)
        got = Phase(int(phase_at(ds, step).sel(alpha=a, xi=x, weight_decay=w, method="nearest", tolerance=1e-6)))
        good = got in expected
        train = float(last["train_acc"])
        detail = f"train {_fmt_pct(train)}"
        if got == Phase.PARTIAL_INVERSION:
            good &= float(theory.inversion_boundary(x, p)) <= train < 0.9
        if got == Phase.FULL_INVERSION:
            level = theory.full_inversion_train_accuracy(x, p)
            corrupt = float(last["corrupt_acc"])
            good &= abs(train - level) <= 0.01 and corrupt <= 2.0 / p and float(last["test_acc"]) >= 0.99
            detail += f" (level {_fmt_pct(level)}), corrupted {_fmt_pct(corrupt)}, test {_fmt_pct(last['test_acc'])}"
        ok &= good
        parts.append(f"({a},{x},{w}){'' if step is None else f'@{step}'} {got.label} [{detail}]{'' if good else ' <-- expected ' + '/'.join(e.label for e in expected)}")
    return "; ".join(parts), ok


def _unlearns(run: xr.Dataset, expected: Phase, xi: float, p: int) -> tuple[str, bool, tuple | None]:
    """One run of a named unlearning cell: (text, ok, (t_test90, t_unlearn) if it unlearned completely)."""
    if int(run["phase"]) < 0:  # a diverged run has no phase (analysis.summarize): never its named one
        return f"diverged <-- expected {expected.label}", False, None
    train = run["train_acc"].values
    peak_at = int(np.argmax(train))
    got = Phase(int(run["phase"]))
    good = got == expected and train[peak_at] >= 0.95 and peak_at < len(train) - 1 and train[-1] < train[peak_at]
    text = f"{got.label} (train peak {_fmt_pct(train[peak_at])} at {int(run['step'][peak_at])}, final {_fmt_pct(train[-1])}"
    times = None
    if expected == Phase.FULL_INVERSION:
        level = theory.full_inversion_train_accuracy(xi, p)
        good &= abs(train[-1] - level) <= 0.05
        text += f" vs {_fmt_pct(level)}"
        if float(run["corrupt_acc"].values[-1]) < UNLEARNED:  # unlearning completed: it came after grokking
            times = float(first_step_at_or_above(run["test_acc"], 0.9)), float(unlearning_step(run["corrupt_acc"]))
            good &= times[0] <= times[1]  # NaN (no peak above 10 % before it) fails
            text += f"; test 90% at {times[0]:g}, unlearned at {times[1]:g}"
    return text + ")" + ("" if good else f" <-- expected {expected.label}, peak >= 95% before the end" + (", final at the level, unlearned after test 90%" if expected == Phase.FULL_INVERSION else "")), bool(good), times


def check_unlearning(evidence, named, p: int, pilots=None, panels=("wd", "unlearning_oos")):
    """The cells ``named`` ((alpha, xi, wd), Phase) by their weight decay, every seed of ``panels``: each
    lands in the phase its weight decay names (the paper's Fig. 1: Partial Inversion at the smaller wd,
    Full Inversion at the larger), its train accuracy peaks >= 95 % before its final value, a Full
    Inversion cell ends within 5 points of 100(1 - xi + xi/p), and where its corrupted-subset accuracy
    ends below 10 %, it got there (after its peak) no earlier than test reached 90 %: grokking first,
    unlearning second (the paper's two stages; in every seed group at least one Full Inversion cell must
    complete it). The cells are taken by their wd labels, never by their measured phase, so swapped labels
    fail. A Full Inversion cell may keep more corrupted labels (the table's boundary allows 5 points)."""
    if not named:
        raise ValueError("the scale names no unlearning cells")
    runs = {c: runs_by_seed(evidence, panels, dict(alpha=c[0], xi=c[1], weight_decay=c[2])) for c, _ in named}

    def group(seeds):
        parts, ok, completed = [], True, 0
        for s in seeds:
            texts = []
            for (a, x, w), expected in named:
                run = runs[(a, x, w)].get(s)
                if run is None:
                    texts.append(f"({a},{x},{w}) missing")
                    ok = False
                    continue
                text, good, times = _unlearns(run, expected, x, p)
                ok &= good
                completed += times is not None and good
                texts.append(f"wd {w:g} {text}" if len({c[:2] for c, _ in named}) == 1 else f"({a},{x},{w}) {text}")
            parts.append(f"seed {s}: " + ", ".join(texts))
        return "; ".join(parts), ok and completed > 0

    seeds = set().union(*(r.keys() for r in runs.values()))
    a, x = named[0][0][:2]
    head = f"alpha {a}, xi {x}: " if len({c[:2] for c, _ in named}) == 1 else ""
    measured, ok = pilot_verdict(seeds, pilots, group)
    return head + measured, ok


def _bimodality_one(co_run, fi_run, cells: Cells) -> tuple[str, bool]:
    co, fi = co_run["ipr"].values, fi_run["ipr"].values
    co, fi = co[np.isfinite(co)], fi[np.isfinite(fi)]
    lo, hi = np.mean(co < cells.ipr_low), np.mean(co > 0.7)
    mid = np.mean((co >= cells.ipr_mid[0]) & (co <= cells.ipr_mid[1]))
    fi_lo = np.mean(fi < cells.ipr_low)
    mid_max = 0.10 if cells.ipr_low <= 0.1 else 0.15
    ok = bool(len(co) and len(fi)) and lo >= cells.low_fraction and hi >= 0.15 and mid <= mid_max and fi_lo <= 0.10
    return f"low {_fmt_pct(lo)}, high {_fmt_pct(hi)}, middle {_fmt_pct(mid)}; FI low {_fmt_pct(fi_lo)}" + ("" if ok else " <-- fails"), bool(ok)


def check_bimodality(evidence, cells: Cells, pilots=None, panels=("seeds", "wd")):
    """Coexistence: >= low_fraction of neurons with IPR < ipr_low, >= 15 % with IPR > 0.7, <= 10 % (paper)
    or 15 % (quick) in the middle band; Full Inversion: <= 10 % below ipr_low; every seed of ``panels``
    holding both cells (the seeds panel first)."""
    at = lambda c: runs_by_seed(evidence, panels, dict(alpha=c[0], xi=c[1], weight_decay=c[2]))  # noqa: E731
    co, fi = at(cells.coexistence), at(cells.full_inversion)
    both = set(co) & set(fi)

    def group(seeds):
        results = [(s, *_bimodality_one(co[s], fi[s], cells)) for s in seeds]
        return "; ".join(f"seed {s}: {t}" for s, t, _ in results), all(ok for *_, ok in results)

    measured, ok = pilot_verdict(both, pilots, group)
    return f"coexistence {cells.coexistence}, full inversion {cells.full_inversion}: " + measured, ok


def _pruning_one(r: xr.Dataset, x: float, cells: Cells, low_at, high_at, random_at) -> tuple[str, bool]:
    if np.isnan(r["prune_low_test_acc"].values).all():
        raise ValueError("no pruning curves in this run (prune_curves was off)")
    lo_c, lo_te, lo_tr = (pruned_at(r, "low", m, low_at) for m in ("corrupt_acc", "test_acc", "train_acc"))
    hi_te, hi_c = pruned_at(r, "high", "test_acc", high_at), pruned_at(r, "high", "corrupt_acc", high_at)
    rnd_te, lo_te_r = pruned_at(r, "random", "test_acc", random_at), pruned_at(r, "low", "test_acc", random_at)
    rnd_c = pruned_at(r, "random", "corrupt_acc", high_at)
    good = lo_c <= 0.05 and lo_te >= 0.90 and abs(lo_tr - (1 - x)) <= 0.03 and hi_te <= 0.10 and hi_c >= cells.prune_high_corrupt and lo_te_r - rnd_te >= 0.30
    return (
        f"low@{low_at} corrupted {_fmt_pct(lo_c)} test {_fmt_pct(lo_te)} train {_fmt_pct(lo_tr)}; "
        f"high@{high_at} test {_fmt_pct(hi_te)} corrupted {_fmt_pct(hi_c)} (random order: {_fmt_pct(rnd_c)}); random@{random_at} test {_fmt_pct(rnd_te)} vs low {_fmt_pct(lo_te_r)}"
        + ("" if good else " <-- fails")
    ), bool(good)


def check_pruning(evidence, cells: Cells, p: int, low_at=0.6, high_at=0.3, random_at=0.5, pilots=None):
    """Coexistence net, every seed available (the seeds panels, else the wd panel): low-IPR-first at 0.6
    gives corrupted <= 5 %, test >= 90 %, train within 3 points of 100(1 - xi) %; high-IPR-first at 0.3
    gives test <= 10 % and corrupted >= cells.prune_high_corrupt (90 % paper, 60 % quick); random order
    (mean of 5) at 0.5 gives test >= 30 points below low-IPR-first."""
    a, x, w = cells.coexistence
    where = dict(alpha=a, xi=x, weight_decay=w)
    runs = runs_by_seed(evidence, ("seeds", "seeds_oos"), where) or runs_by_seed(evidence, ("wd",), where)  # the wd panel if no seeds panel holds it

    def group(seeds):
        results = [(s, *_pruning_one(runs[s], x, cells, low_at, high_at, random_at)) for s in seeds]
        return "; ".join(f"seed {s}: {t}" for s, t, _ in results), all(ok for *_, ok in results)

    measured, ok = pilot_verdict(runs, pilots, group)
    return f"{cells.coexistence}: " + measured, ok


def _batchnorm_one(r: xr.Dataset, cells: Cells, min_rho: float) -> tuple[str, bool]:
    ipr, gamma = r["ipr"].values, r["bn_gamma"].values
    if np.isnan(gamma).all():
        raise ValueError("no BatchNorm scales in this run (regularizer is not 'batchnorm')")
    rho = spearman(ipr, gamma)
    low, high = gamma[ipr < cells.ipr_low], gamma[ipr > 0.7]
    g_lo = float(np.median(low)) if len(low) else np.nan
    g_hi = float(np.median(high)) if len(high) else np.nan
    test, train = float(r["test_acc"].values[-1]), float(r["train_acc"].values[-1])
    good = test >= 0.99 and rho > min_rho and g_lo < g_hi
    return (f"test {_fmt_pct(test)} (train {_fmt_pct(train)}, {Phase(int(r['phase'])).label}) rho {rho:.2f} "
            f"median |gamma| low-IPR {g_lo:.3f} < high-IPR {g_hi:.3f}" + ("" if good else " <-- fails")), bool(good)


def check_batchnorm(evidence, cells: Cells, p: int, min_rho: float = 0.5, pilots=None, panels=("batchnorm", "batchnorm_oos")):
    """BatchNorm after the square damps the memorizing neurons (Fig. 5), in the cell ``cells.batchnorm``,
    every seed of ``panels``: test >= 99 %; Spearman(IPR_k, |gamma_k|) > 0.5; median |gamma| of neurons
    with IPR < ipr_low below that of neurons with IPR > 0.7."""
    a, x = cells.batchnorm
    runs = runs_by_seed(evidence, panels, dict(alpha=a, xi=x))

    def group(seeds):
        results = [(s, *_batchnorm_one(runs[s], cells, min_rho)) for s in seeds]
        return "; ".join(f"seed {s}: {t}" for s, t, _ in results), all(ok for *_, ok in results)

    measured, ok = pilot_verdict(runs, pilots, group)
    return f"(alpha {a}, xi {x}): " + measured, ok


def check_bn_inversion(evidence, cells: Cells, p: int, panels=("batchnorm", "batchnorm_oos")):
    """BatchNorm after the square inverts (Fig. 5): in the paper's cell ``cells.bn_inversion`` (alpha 0.65,
    xi 0.2, batch 64), every seed of ``panels`` ends with test >= 99 % and train below the inversion
    boundary 100(1 - xi + xi/p + 0.05) % (App. C, Table 2's 100(1.05 - xi) in exact form). The paper's
    cell, so no pilot seeds: every seed alike."""
    a, x = cells.bn_inversion
    runs = runs_by_seed(evidence, panels, dict(alpha=a, xi=x))
    bound = float(theory.inversion_boundary(x, p))

    def group(seeds):
        parts, n = [], 0
        for s in seeds:
            r = runs[s]
            train, test = float(r["train_acc"].values[-1]), float(r["test_acc"].values[-1])
            good = test >= 0.99 and train < bound
            n += good
            parts.append(f"seed {s}: train {_fmt_pct(train)} test {_fmt_pct(test)} ({Phase(int(r['phase'])).label})")
        return f"{n}/{len(seeds)} seeds invert (train < {_fmt_pct(bound)}, test >= 99%): " + "; ".join(parts), n == len(seeds)

    measured, ok = pilot_verdict(runs, None, group)
    return f"(alpha {a}, xi {x}): " + measured, ok


def _width_one(ds: xr.Dataset, min_gain: float) -> tuple[str, bool]:
    widths = np.atleast_1d(ds["N"].values).astype(float)
    low = ds["n_prunable_low"].transpose("N", ...).values.reshape(len(widths), -1) / widths[:, None]
    rnd = ds["n_prunable_random"].transpose("N", ...).values.reshape(len(widths), -1) / widths[:, None]
    mean = np.nanmean(low, 1)
    diff = low - rnd
    se = np.nanstd(diff, 1, ddof=1) / np.sqrt(np.sum(np.isfinite(diff), 1)) if diff.shape[1] > 1 else np.zeros(len(widths))
    order = np.argsort(widths)
    grows = bool(np.all(np.diff(mean[order]) > 0)) and mean[order][-1] - mean[order][0] >= min_gain
    control = bool(np.all(np.nanmean(diff, 1) > 2 * se))
    parts = [f"N {w:g}: low {100 * m:.1f}% vs random {100 * np.nanmean(r):.1f}% (remain {w * (1 - m):.0f})" for w, m, r in zip(widths[order], mean[order], rnd[order])]
    return ", ".join(parts), grows and control and bool(np.all(np.isfinite(mean)))


def check_width(evidence, min_gain: float = 0.10, pilots=None):
    """App. Q: the fraction of neurons prunable lowest-IPR-first with test >= 90 % grows with width N
    (seed means strictly increasing, and from the narrowest to the widest net by >= min_gain), while the
    random-order control stays below the low-IPR-first fraction at every N (by more than 2 standard
    errors of the paired difference); on the pilot seeds and on the others apart."""
    ds = panel(evidence, "width")
    if len(np.atleast_1d(ds["N"].values)) < 2:
        raise ValueError("the width panel needs at least two widths")
    seeds = np.atleast_1d(ds["seed"].values).tolist() if "seed" in ds.dims else [seed_of(ds)]
    pick = lambda group: ds.sel(seed=group) if "seed" in ds.dims else ds  # noqa: E731
    return pilot_verdict(seeds, pilots, lambda group: _width_one(pick(group), min_gain))


def claims(scale: Scale) -> list[Claim]:
    """Claims 1-2 at every scale; 3-9 with 8b (and 10-13) where the scale has named cells."""
    analytic = [
        Claim(
            "1 analytic solution (Eq. 2, A=(2/N)^(1/3), p 97)",
            "100% in 20/20 draws for N>=256; logit 1; std*sqrt(N)/2 = 1; MSE*N/4 = 1; <100% at N=p/2",
            "logit +-0.05; std [0.9,1.1]; MSE [0.85,1.15]; >=1/20 imperfect at N=48",
            lambda ds: check_analytic(),
        ),
        Claim(
            "2 IPR convention (rfft)",
            "Eq. 2 rows 1; Gaussian p 97 0.040; full-FFT cosine 0.5",
            "+-1e-6; +-0.003; +-1e-6",
            lambda ds: check_ipr(),
        ),
    ]
    cells, p = scale.cells, scale.base.p
    if cells is None:
        return analytic
    wd = panel  # claims 3-4 read the wd panel

    def oos(role):
        pilots = cells.pilots(role)
        return "" if pilots is None else f"; pilot seeds {list(pilots)} and the others apart, both must hold"

    return analytic + [
        Claim(
            f"3 grokking {cells.grokking}",
            "train 99% by step 40, test 99% by 60, mean IPR 0.7 by 100",
            "deadlines as stated (logged every 10 steps)",
            lambda ev: check_grokking(wd(ev), cells.grokking),
        ),
        Claim(
            "4 phases of named cells",
            "each named cell in its phase (App. C); PI train in [FI boundary, 90%); FI train = 100(1-xi+xi/p)%",
            "FI: +-1 point, corrupted <= 2/p, test >= 99%",
            lambda ev: check_phases(wd(ev), cells, p),
        ),
        Claim(
            "5 unlearning, cells by wd: " + ", ".join(f"{ {Phase.PARTIAL_INVERSION: 'PI', Phase.FULL_INVERSION: 'FI'}.get(ph, ph.label)} at {c}" for c, ph in cells.unlearning),
            "each cell in the phase its wd names (not picked by measured phase); train peaks >= 95% before its final value; FI ends at 100(1-xi+xi/p)%; corrupted acc falls < 10% after grokking",
            "FI final within 5 points; FI: t_test90 <= t_unlearn" + oos("unlearning"),
            lambda ev: check_unlearning(ev, cells.unlearning, p, cells.pilots("unlearning"), cells.unlearning_panels),
        ),
        Claim(
            "6 IPR bimodality, every seed",
            f"coexistence: >= {cells.low_fraction:.0%} IPR<{cells.ipr_low}, >= 15% IPR>0.7; FI: few low-IPR neurons",
            f"middle {list(cells.ipr_mid)} <= {10 if cells.ipr_low <= 0.1 else 15}%; FI <= 10% below {cells.ipr_low}" + oos("bimodality"),
            lambda ev: check_bimodality(ev, cells, cells.pilots("bimodality")),
        ),
        Claim(
            f"7 IPR pruning {cells.coexistence}, every seed",
            "low-IPR first @0.6: corrupted ~0, test kept, train 100(1-xi)%; high-IPR first @0.3: test ~0, corrupted kept; random @0.5 far below low-first",
            f"low: corrupted <= 5%, test >= 90%, train +-3 pts; high: test <= 10%, corrupted >= {cells.prune_high_corrupt:.0%}; random test >= 30 pts below low"
            + oos("pruning"),
            lambda ev: check_pruning(ev, cells, p, pilots=cells.pilots("pruning")),
            not_reproduced=cells.pruning_not_reproduced,
        ),
        Claim(
            f"8 BatchNorm (Fig. 5; batch 64) damps memorizing neurons (alpha {cells.batchnorm[0]}, xi {cells.batchnorm[1]})",
            "|gamma_k| rank-correlates with IPR_k; low-IPR neurons get the smaller |gamma|",
            "every seed: test >= 99%; rho > 0.5; median |gamma| low < high" + oos("batchnorm"),
            lambda ev: check_batchnorm(ev, cells, p, pilots=cells.pilots("batchnorm")),
        ),
        Claim(
            f"8b BatchNorm (Fig. 5; batch 64) inverts (alpha {cells.bn_inversion[0]}, xi {cells.bn_inversion[1]})",
            "train falls below the Full Inversion boundary while test stays high",
            "every seed: train < 100(1.05-xi)% (exact: 1-xi+xi/p+0.05), test >= 99%",
            lambda ev: check_bn_inversion(ev, cells, p),
            not_reproduced=cells.bn_inversion_not_reproduced,
        ),
        Claim(
            "9 App. Q: prunable fraction vs width",
            "neurons prunable lowest-IPR first with test >= 90% grow faster than N (fraction grows); random order stays below",
            "seed means strictly increasing in N, +10 points narrowest to widest; random below low by > 2 SE at every N" + oos("width"),
            lambda ev: check_width(ev, pilots=cells.pilots("width")),
        ),
    ] + architecture_claims(scale)
