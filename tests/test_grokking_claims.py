"""Every claim of grokking_claims passes on correct evidence and fails on deliberately wrong evidence.

Sweep evidence is generated here (tests/conftest.py): 36 quick-scale configs holding every cell of
CELLS['quick'] except the grokking cell, and the grokking cell with its wd-0 twin. Wrong inputs are
real results with wrong labels: weight-decay coordinates reversed, xi coordinates swapped, the
coexistence and full-inversion cells exchanged, the printed (2/N)^(-1/3) amplitude, the full FFT.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rote.sims.study import Claim, Verdict
from rote.sims.studies import grokking_claims as gc
from rote.theory.grokking import Phase

QUICK = gc.CELLS["quick"]
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
    verdicts = [claim(None) for claim in gc.claims("smoke")]
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
    """The fact sheet 6.3 phases, cell by cell, as stored in the Dataset's `phase` variable."""
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
    assert len(gc.claims("smoke")) == 2
    for scale in ("quick", "paper"):
        claims = gc.claims(scale)
        assert len(claims) == 6
        assert len({c.name for c in claims}) == 6
        assert all(c.prediction and c.tolerance for c in claims)


def test_registered_sweep_claims_pass_on_their_evidence(grok_ds, cells_ds):
    _, _, grok, phases, unlearning, bimodality = gc.claims("quick")
    assert grok(grok_ds).passed, grok(grok_ds)
    for claim in (phases, unlearning, bimodality):
        v = claim(cells_ds)
        assert v.passed is True, v


def test_claim_on_a_dataset_lacking_its_cell_fails_without_raising(grok_ds, cells_ds):
    _, _, grok, phases, unlearning, bimodality = gc.claims("quick")
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
