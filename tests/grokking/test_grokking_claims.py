"""Every claim of the grokking study passes on correct evidence and fails on deliberately wrong evidence.

Sweep evidence is generated here (tests/grokking/conftest.py): 36 quick-scale configs holding every
named cell of the quick scale (``Scale.cells``) except the grokking cell, and the grokking cell with its wd-0 twin. Wrong inputs are
real results with wrong labels: weight-decay coordinates reversed, xi coordinates swapped, the
coexistence and full-inversion cells exchanged, the printed (2/N)^(-1/3) amplitude, the full FFT.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from rote.sims import engine
from rote.sims.stats import spearman
from rote.sims.studies.grokking import STUDY, scales
from rote.sims.studies.grokking import claims as gc
from rote.sims.study import Claim, Verdict
from rote.theory.grokking import Phase

QUICK = scales.quick_scale().cells
P_QUICK = 47


def reversed_wd(ds):
    return ds.assign_coords(weight_decay=ds["weight_decay"].values[::-1])


def swapped_xi(ds):
    return ds.assign_coords(xi=ds["xi"].values[::-1])


# --------------------------------------------------------------------------------------------------
# 1. analytic, 2. IPR
# --------------------------------------------------------------------------------------------------


def test_analytic_passes_with_the_corrected_amplitude():
    measured, ok = gc.check_analytic(draws=3, widths=(256,))
    assert ok, measured
    assert "3/3 perfect" in measured


def test_analytic_fails_with_the_printed_amplitude():
    measured, ok = gc.check_analytic(draws=3, widths=(256,), amplitude_sign=-1)
    assert not ok, measured


def test_analytic_fails_when_the_small_width_is_not_small():
    # N = 256 at the "small" slot: every draw is perfect, so "some draw < 100 % at N = p/2" fails
    measured, ok = gc.check_analytic(draws=3, widths=(256,), small_width=256)
    assert not ok, measured


def test_ipr_claim_passes_with_rfft_and_fails_with_full_fft():
    measured, ok = gc.check_ipr()
    assert ok, measured
    measured, ok = gc.check_ipr(full_fft=True)
    assert not ok, measured


def test_the_registered_analytic_claims_pass():
    """The claims as `rote verify` runs them (full 20 draws; about 25 s, shared with test_cli by a cache)."""
    verdicts = [claim(None) for claim in gc.claims(scales.smoke_scale())]
    assert len(verdicts) == 2
    for v in verdicts:
        assert isinstance(v, Verdict) and v.passed, v


# --------------------------------------------------------------------------------------------------
# 3. grokking
# --------------------------------------------------------------------------------------------------


def test_grokking_passes_on_the_grokking_cell(grok_ds):
    measured, ok = gc.check_grokking(grok_ds, QUICK.grokking)
    assert ok, measured


def test_grokking_fails_with_swapped_weight_decay_labels(grok_ds):
    measured, ok = gc.check_grokking(reversed_wd(grok_ds), QUICK.grokking)
    assert not ok, measured


def test_grokking_fails_with_tighter_deadlines(grok_ds):
    measured, ok = gc.check_grokking(grok_ds, QUICK.grokking, train_by=10, test_by=20, ipr_by=30)
    assert not ok, measured


# --------------------------------------------------------------------------------------------------
# 4. phases
# --------------------------------------------------------------------------------------------------


def test_phases_pass_on_the_quick_cells(cells_ds):
    measured, ok = gc.check_phases(cells_ds, QUICK, P_QUICK)
    assert ok, measured


def test_phase_map_of_the_quick_cells(cells_ds):
    """The quick scale's named phases, cell by cell, as stored in the Dataset's `phase` variable."""
    for (a, x, w), _, expected in QUICK.phases:
        got = int(cells_ds["phase"].sel(alpha=a, xi=x, weight_decay=w))
        assert got in {int(e) for e in expected}, ((a, x, w), got)
    fi = cells_ds.sel(alpha=0.5, xi=0.2, weight_decay=10.0)
    assert float(fi["final_corrupt_acc"]) <= 2 / P_QUICK  # corrupted labels unlearned
    assert float(fi["final_corrupt_true_acc"]) >= 0.9  # ... and predicted with their true labels
    mem = cells_ds.sel(alpha=0.5, xi=0.35, weight_decay=0.0)
    assert float(mem["final_corrupt_acc"]) >= 0.9 and float(mem["final_test_acc"]) < 0.9


def test_phases_fail_with_swapped_weight_decay_labels(cells_ds):
    measured, ok = gc.check_phases(reversed_wd(cells_ds), QUICK, P_QUICK)
    assert not ok, measured
    assert "expected" in measured


def test_phases_fail_with_swapped_xi_labels(cells_ds):
    measured, ok = gc.check_phases(swapped_xi(cells_ds), QUICK, P_QUICK)
    assert not ok, measured


def test_phases_fail_with_a_wrong_expected_phase(cells_ds):
    (cell, step, _), *rest = QUICK.phases
    wrong = dataclasses.replace(QUICK, phases=((cell, step, {Phase.FORGETTING}), *rest))
    measured, ok = gc.check_phases(cells_ds, wrong, P_QUICK)
    assert not ok, measured


# --------------------------------------------------------------------------------------------------
# 5. unlearning
# --------------------------------------------------------------------------------------------------


def test_unlearning_passes(cells_ds):
    measured, ok = gc.check_unlearning(cells_ds, 0.7, P_QUICK)
    assert ok, measured
    checked = int(measured.split("/")[1].split()[0])
    assert checked >= 5, measured  # not vacuous: the quick cells hold several inversion cells


def test_unlearning_fails_with_swapped_xi_labels(cells_ds):
    # the Full Inversion cells then end far from 100 (1 - xi + xi/p) of their (wrong) xi
    measured, ok = gc.check_unlearning(swapped_xi(cells_ds), 0.7, P_QUICK)
    assert not ok, measured


def test_unlearning_fails_without_inversion_cells(cells_ds):
    measured, ok = gc.check_unlearning(cells_ds.sel(weight_decay=[0.0]), 0.7, P_QUICK)
    assert not ok, measured


def test_unlearning_fails_on_a_cell_that_never_unlearns(cells_ds):
    # a Memorization cell forced into the check: train stays at 100 %, no peak before the end
    measured, ok = gc.check_unlearning(cells_ds, 0.7, P_QUICK, extra_cells=((0.5, 0.35, 0.0),))
    assert not ok, measured


# --------------------------------------------------------------------------------------------------
# 6. bimodality
# --------------------------------------------------------------------------------------------------


def test_bimodality_passes(cells_ds):
    measured, ok = gc.check_bimodality(cells_ds, QUICK)
    assert bool(ok), measured


def test_bimodality_fails_with_swapped_weight_decay_labels(cells_ds):
    measured, ok = gc.check_bimodality(reversed_wd(cells_ds), QUICK)
    assert not bool(ok), measured


def test_bimodality_fails_with_exchanged_cells(cells_ds):
    wrong = dataclasses.replace(QUICK, coexistence=QUICK.full_inversion, full_inversion=QUICK.coexistence)
    measured, ok = gc.check_bimodality(cells_ds, wrong)
    assert not bool(ok), measured


# --------------------------------------------------------------------------------------------------
# Claim objects
# --------------------------------------------------------------------------------------------------


def test_claim_lists_per_scale():
    assert len(gc.claims(scales.smoke_scale())) == 2
    for scale, n in (("quick", 13), ("paper", 9)):  # quick adds 10-13 (architecture panels)
        claims = gc.claims(scales.SCALES[scale]())
        assert len(claims) == n
        assert len({c.name for c in claims}) == n
        assert all(c.prediction and c.tolerance for c in claims)


def test_registered_sweep_claims_pass_on_their_evidence(grok_ds, cells_ds, prune_ds):
    _, _, grok, phases, unlearning, bimodality, pruning, _, _ = gc.claims(scales.quick_scale())[:9]
    assert grok(grok_ds).passed, grok(grok_ds)
    assert pruning(prune_ds).passed, pruning(prune_ds)
    assert pruning({"wd": prune_ds}).passed  # panel evidence without a seeds panel
    v = pruning({"wd": cells_ds})  # the quick wd panel computes no pruning curves: not measurable, fails
    assert v.passed is False and "not measurable" in v.measured, v
    for claim in (phases, unlearning, bimodality):
        v = claim(cells_ds)
        assert v.passed is True, v


def test_claim_on_a_dataset_lacking_its_cell_fails_without_raising(grok_ds, cells_ds):
    _, _, grok, phases, unlearning, bimodality, _, _, _ = gc.claims(scales.quick_scale())[:9]
    v = grok(cells_ds)  # no xi = 0 in cells_ds
    assert v.passed is False and v.measured.startswith("not measurable")
    for claim in (phases, bimodality):
        v = claim(grok_ds)  # grok_ds holds only alpha 0.5, xi 0
        assert v.passed is False and "not measurable" in v.measured, v
    assert unlearning(grok_ds).passed is False


def test_claim_wraps_the_check():
    ok = Claim("c", "p", "t", lambda ev: (f"got {ev}", 1))
    v = ok(3)
    assert v == Verdict("c", "p", "t", "got 3", True)
    assert Claim("c", "p", "t", lambda ev: ("m", 0))(None).passed is False
    missing = Claim("c", "p", "t", lambda ev: ev["absent"])({})
    assert missing.passed is False and "KeyError" in missing.measured


@pytest.mark.slow
def test_quick_scale_verify_end_to_end(tmp_path):
    """The whole quick sweep (120 configs, about 2 min on 2 cores) and all six claims."""
    from rote.sims import cli

    assert cli.main(["sweep", "grokking", "--scale", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert cli.main(["verify", "grokking", "--scale", "quick", "--results", str(tmp_path), "--no-progress"]) == 0


# --------------------------------------------------------------------------------------------------
# 5 (dynamics part), 7 pruning, 8 BatchNorm
# --------------------------------------------------------------------------------------------------


def test_unlearning_fails_when_unlearning_precedes_grokking(cells_ds):
    """The two-stage part of claim 5: a Full Inversion cell whose test accuracy reaches 90 % only after
    its corrupted labels were unlearned (its test curve replaced by one that groks at the last step) fails."""
    fi = dict(alpha=0.5, xi=0.2, weight_decay=10.0)
    wrong = cells_ds.copy(deep=True)
    late = np.where(cells_ds["step"].values < cells_ds["step"].values[-1], 0.5, 1.0)
    wrong["test_acc"].loc[fi] = late
    measured, ok = gc.check_unlearning(wrong, 0.7, P_QUICK)
    assert not ok, measured
    assert f"test 90% at {cells_ds['step'].values[-1]}" in measured


def test_unlearning_fails_without_a_completed_unlearning(cells_ds):
    """No Full Inversion cell that ends below 10 % corrupted accuracy: the ordering is not measured."""
    wrong = cells_ds.copy(deep=True)
    wrong["corrupt_acc"] = wrong["corrupt_acc"] * 0 + 0.5
    measured, ok = gc.check_unlearning(wrong, 0.7, P_QUICK)
    assert not ok, measured


@pytest.fixture(scope="module")
def prune_ds():
    """The quick coexistence and full-inversion cells (alpha 0.9, xi 0.35, wd 0 / 10) with pruning curves,
    as the quick seeds panel computes them (seed 0)."""
    base, _ = scales.quick_scale().sweeps()["seeds"]
    return engine.sweep(STUDY, base, {"alpha": (0.9,), "xi": (0.35,), "weight_decay": (0.0, 10.0)}, None, progress=False, log=lambda _: None)


def test_pruning_passes_on_the_coexistence_cell(prune_ds):
    measured, ok = gc.check_pruning(prune_ds, QUICK, P_QUICK)
    assert ok, measured


def test_pruning_fails_on_the_full_inversion_cell(prune_ds):
    # the fully inverted net has no memorizing population: low-IPR-first pruning then costs test accuracy
    # or there is nothing left to unlearn; high-IPR-first keeps no corrupted labels (there are none)
    wrong = dataclasses.replace(QUICK, coexistence=QUICK.full_inversion)
    measured, ok = gc.check_pruning(prune_ds, wrong, P_QUICK)
    assert not ok, measured


def test_pruning_fails_with_exchanged_orders(prune_ds):
    swapped = prune_ds.copy()
    for m in ("train_acc", "test_acc", "corrupt_acc", "clean_acc", "train_loss", "test_loss"):
        swapped[f"prune_low_{m}"], swapped[f"prune_high_{m}"] = prune_ds[f"prune_high_{m}"], prune_ds[f"prune_low_{m}"]
    measured, ok = gc.check_pruning(swapped, QUICK, P_QUICK)
    assert not ok, measured


def test_pruning_fails_when_the_random_control_matches_low_first(prune_ds):
    """The random control must lose test accuracy much faster than low-IPR-first: a 'random' curve that
    equals the low-IPR-first curve fails the claim."""
    fake = prune_ds.copy()
    fake["prune_random_test_acc"] = prune_ds["prune_low_test_acc"]
    measured, ok = gc.check_pruning(fake, QUICK, P_QUICK)
    assert not ok, measured


def test_pruning_reads_every_seed_of_the_seeds_panel(prune_ds):
    """With a seeds panel holding the coexistence cell, every seed is checked; one bad seed fails."""
    a, x, w = QUICK.coexistence
    one = prune_ds.sel(alpha=[a], xi=[x], weight_decay=[w])
    seeds = xr.concat([one, one], dim=xr.DataArray([0, 1], dims="seed", name="seed"))
    measured, ok = gc.check_pruning({"wd": prune_ds, "seeds": seeds}, QUICK, P_QUICK)
    assert ok and measured.count("seed") == 2, measured
    measured, ok = gc.check_pruning({"wd": prune_ds.drop_vars([v for v in prune_ds if v.startswith("prune_")]), "seeds": seeds}, QUICK, P_QUICK)
    assert ok, measured  # the seeds panel is preferred over the wd panel
    bad = seeds.copy(deep=True)
    bad["prune_high_test_acc"][dict(seed=1)] = 1.0
    measured, ok = gc.check_pruning({"wd": prune_ds, "seeds": bad}, QUICK, P_QUICK)
    assert not ok and "fails" in measured, measured


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    y[:20] = np.round(y[:20])  # ties
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert spearman(x, -x) == pytest.approx(-1)
    assert np.isnan(spearman([1.0, np.nan], [2.0, 3.0]))


@pytest.fixture(scope="module")
def bn_ds():
    """The quick BatchNorm panel's claim cell (alpha 0.9, xi 0.2, batch 64, 2000 steps), one seed."""
    base, _ = scales.quick_scale().sweeps()["batchnorm"]
    a, x = QUICK.batchnorm
    return engine.sweep(STUDY, base, {"alpha": (a,), "xi": (x,), "seed": (0,)}, None, progress=False, log=lambda _: None)


def test_batchnorm_passes(bn_ds):
    measured, ok = gc.check_batchnorm({"batchnorm": bn_ds}, QUICK, P_QUICK)
    assert ok, measured


def test_batchnorm_fails_with_shuffled_gammas(bn_ds):
    wrong = bn_ds.copy(deep=True)
    wrong["bn_gamma"].values[...] = np.random.default_rng(0).permutation(bn_ds["bn_gamma"].values.ravel()).reshape(bn_ds["bn_gamma"].shape)
    measured, ok = gc.check_batchnorm({"batchnorm": wrong}, QUICK, P_QUICK)
    assert not ok, measured


def test_batchnorm_fails_with_inverted_ipr(bn_ds):
    wrong = bn_ds.copy(deep=True)
    wrong["ipr"] = 1.0 - bn_ds["ipr"]
    measured, ok = gc.check_batchnorm({"batchnorm": wrong}, QUICK, P_QUICK)
    assert not ok, measured


def test_batchnorm_fails_on_a_run_without_batchnorm(cells_ds):
    c = cells_ds.sel(alpha=[0.9], xi=[0.2], weight_decay=0.0)
    v = gc.claims(scales.quick_scale())[7]({"batchnorm": c, "wd": cells_ds})
    assert v.passed is False and "not measurable" in v.measured, v


def test_batchnorm_paper_rule_requires_inversion(bn_ds):
    """At paper scale the claim also needs train below the inversion boundary; the quick-scale BatchNorm
    net (Partial Inversion or Coexistence at p 47) fails that stricter rule."""
    strict = dataclasses.replace(QUICK, bn_inverts=True)
    train = float(bn_ds["train_acc"].isel(step=-1).squeeze())
    measured, ok = gc.check_batchnorm({"batchnorm": bn_ds}, strict, P_QUICK)
    assert (not ok) == (train >= 1 - 0.2 + 0.2 / P_QUICK + 0.05), measured


def width_panel(fractions_low, fractions_random, widths=(96, 192, 384)):
    """A synthetic width panel: n_prunable_{low,random} = fraction * N per (N, seed)."""
    w = np.asarray(widths, float)[:, None]
    return xr.Dataset(
        {"n_prunable_low": (("N", "seed"), np.asarray(fractions_low) * w), "n_prunable_random": (("N", "seed"), np.asarray(fractions_random) * w)},
        coords={"N": list(widths), "seed": list(range(np.shape(fractions_low)[1]))},
    )


# quick-scale measurements (p 47, alpha 0.9, xi 0.2, wd 2.5; 5 seeds): fractions prunable lowest-IPR first / random
QUICK_LOW = [[0.625, 0.635, 0.615, 0.542, 0.573], [0.771, 0.760, 0.771, 0.750, 0.734], [0.839, 0.862, 0.846, 0.836, 0.831]]
QUICK_RANDOM = [[0.542, 0.542, 0.531, 0.510, 0.500], [0.531, 0.563, 0.536, 0.495, 0.505], [0.508, 0.518, 0.516, 0.523, 0.536]]


def test_width_claim_passes_on_growing_fractions():
    measured, ok = gc.check_width({"width": width_panel(QUICK_LOW, QUICK_RANDOM)})
    assert ok, measured


def test_width_claim_fails_with_reversed_widths():
    reversed_n = width_panel(QUICK_LOW, QUICK_RANDOM).assign_coords(N=[384, 192, 96])
    measured, ok = gc.check_width({"width": reversed_n})
    assert not ok, measured


def test_width_claim_fails_when_random_order_matches_low_first():
    measured, ok = gc.check_width({"width": width_panel(QUICK_LOW, QUICK_LOW)})
    assert not ok, measured


def test_width_claim_fails_on_a_flat_fraction():
    flat = [[0.6] * 5] * 3
    measured, ok = gc.check_width({"width": width_panel(flat, QUICK_RANDOM)})
    assert not ok, measured
