"""Each claim of the asr-canaries study passes on a plausible input and fails on a wrong one and on the
plausible alternative (flat trends, quality loss, protection that does not shrink, ...)."""

from __future__ import annotations

import numpy as np
from asr_fakes import baseline_panel, budget_panel, evidence, pcc_panel, pec_panel

from rote.sims.studies.asr_canaries import claims as cl
from rote.sims.studies.asr_canaries.analysis import protected_range
from rote.sims.studies.asr_canaries.scales import quick_scale


def verdicts(ev):
    return {c.name: c(ev) for c in cl.claims(quick_scale())}


def test_all_claims_pass_on_the_plausible_evidence():
    v = verdicts(evidence())
    assert len(v) == 8
    assert all(x.passed for x in v.values()), {k: x.measured for k, x in v.items() if not x.passed}


def test_not_learnable_fails_when_sped_up_is_read_or_clean_is_poor():
    assert not cl.check_not_learnable(baseline_panel(control=(0.5,) * 6))[1]  # control reads sped-up speech
    assert not cl.check_not_learnable(baseline_panel(control_clean=0.2))[1]  # clean speech not learned


def test_memorization_grows_fails_on_flat_or_non_monotone_or_weak():
    assert not cl.check_memorization_grows(baseline_panel(trained=(0.85,) * 6))[1]  # flat: nothing memorized
    assert not cl.check_memorization_grows(baseline_panel(trained=(0.85, 0.2, 0.5, 0.1, 0.0, 0.0)))[1]  # rises at r = 2
    assert not cl.check_memorization_grows(baseline_panel(trained=(0.7, 0.6, 0.5, 0.4, 0.3, 0.2)))[1]  # M(16) = 0.5 < 0.6
    assert cl.check_memorization_grows(baseline_panel(), pilot_seeds=(0,))[1]


def test_pec_suppression_fails_when_r16_is_read_or_quality_is_lost():
    assert not cl.check_pec_suppresses(pec_panel(small=(0.85, 0.85, 0.85, 0.8, 0.7, 0.4)), budget_panel())[1]  # r = 16 memorized
    assert not cl.check_pec_suppresses(pec_panel(clean=(0.12, 0.04)), budget_panel())[1]  # 9 points worse than baseline


def test_protected_range_must_shrink_with_C():
    assert protected_range(np.array([0.8, 0.8, 0.7, 0.5, 0.2, 0.0]), np.array([0, 1, 2, 4, 8, 16])) == 2
    same = (0.85, 0.86, 0.85, 0.84, 0.8, 0.7)
    assert not cl.check_protection_shrinks(pec_panel(large=same), budget_panel(ter=same))[1]  # never shrinks (to inf)
    assert not cl.check_protection_shrinks(pec_panel(small=(0.85, 0.8, 0.75, 0.6, 0.4, 0.2), large=same), budget_panel())[1]  # grows


def test_pcc_quality_and_protection_fail_on_the_alternatives():
    assert not cl.check_pcc_quality(pcc_panel(clean=(0.06, 0.04)), budget_panel())[1]  # 3 points worse
    assert not cl.check_pcc_protects_rare(pcc_panel(few=(0.85, 0.3, 0.2, 0.1, 0.0, 0.0)), budget_panel())[1]  # memorized like baseline
    assert not cl.check_pcc_protects_rare(pcc_panel(), budget_panel(ter=(0.8,) * 6))[1]  # baseline itself did not memorize


def test_pcc_must_approach_pec():
    assert not cl.check_pcc_approaches_pec(pcc_panel(few=(0.85, 0.84, 0.8, 0.7, 0.5, 0.2), many=(0.85, 0.8, 0.7, 0.55, 0.2, 0.0)),
                                           pec_panel(), 0.1)[1]  # more memorization with smaller cores
    flat = (0.85, 0.8, 0.7, 0.55, 0.2, 0.0)
    assert not cl.check_pcc_approaches_pec(pcc_panel(few=flat, many=flat), pec_panel(small=flat), 0.1)[1]  # flat in M


def test_clip_inf_gap_fails_on_a_wrong_gradient():
    assert not cl.check_inf_gap(pec_panel(gap=1e-3), pcc_panel())[1]
    assert cl.check_inf_gap(pec_panel(), pcc_panel())[1]
