"""Each claim of lexical-overlap passes on the predicted outcome and fails on its plausible alternative
(one failing-input test per claim)."""

from __future__ import annotations

import numpy as np

from rote.sims.studies.lexical_overlap import claims as C

RISING = [0.1, 0.15, 0.2, 0.3, 0.6]


def test_l1_rising_bins_with_ratio():
    assert C.l1_verdict(np.array(RISING))[1]
    # alternative: a flat profile (a generalizer), and a rise that is monotone but too small (2x)
    assert not C.l1_verdict(np.array([0.3, 0.31, 0.3, 0.32, 0.31]))[1]
    assert not C.l1_verdict(np.array([0.2, 0.25, 0.3, 0.35, 0.4]))[1]
    # alternative: a large ratio from the top bin only, non-monotone below it
    assert not C.l1_verdict(np.array([0.1, 0.3, 0.05, 0.2, 0.6]))[1]


def test_l2_entity_ratio_below_rouge_ratio():
    assert C.l2_verdict(np.array([0.6, 0.62, 0.65, 0.7, 0.9]), np.array(RISING))[1]
    # alternative: entities gap as large as the ROUGE-2 gap (nothing is copied on novel inputs)
    assert not C.l2_verdict(np.array([0.2, 0.3, 0.4, 0.6, 0.95]), np.array(RISING))[1]
    # alternative: no entity gap at all
    assert not C.l2_verdict(np.array([0.8, 0.8, 0.8, 0.8, 0.8]), np.array(RISING))[1]


def test_l3_rote_factual_errors():
    assert C.l3_verdict(0.45, 0.05, 0.9)[1]
    # alternative: errors everywhere alike (a weak copier, not rote recitation)
    assert not C.l3_verdict(0.45, 0.3, 0.9)[1]
    # alternative: the variant errors are random organisations, not the storyline's usual one
    assert not C.l3_verdict(0.45, 0.05, 0.3)[1]
    assert not C.l3_verdict(0.2, 0.01, 0.9)[1]


def test_l4_between_lines():
    oracle, rote = np.full(5, 0.3), np.array([0.25, 0.45, 0.5, 0.63, 0.88])
    assert C.l4_verdict(np.array([0.26, 0.34, 0.36, 0.42, 0.62]), oracle, rote)[1]
    # alternative: pure recitation (on the identity line: rote index about 1)
    assert not C.l4_verdict(rote.copy(), oracle, rote)[1]
    # alternative: pure generalization (flat: rote index about 0)
    assert not C.l4_verdict(np.full(5, 0.3), oracle, rote)[1]
    # alternative: above the rote envelope in one bin
    assert not C.l4_verdict(np.array([0.26, 0.34, 0.36, 0.42, 0.95]), oracle, rote)[1]


def _m(b1, ratio, uer, avg):
    return {"b1": b1, "ratio": ratio, "uer_variant": uer, "avg": avg}


def test_l5_capping_against_random_subset():
    assert C.l5_verdict(_m(0.2, 2.5, 0.1, 0.4), _m(0.2, 4.0, 0.5, 0.41), 0.41)[1]
    # alternative: "less data" alone explains it (capped same as random)
    assert not C.l5_verdict(_m(0.2, 3.9, 0.48, 0.4), _m(0.2, 4.0, 0.5, 0.41), 0.41)[1]
    # alternative: the gap shrinks only because novel cases get worse
    assert not C.l5_verdict(_m(0.15, 2.5, 0.1, 0.4), _m(0.2, 4.0, 0.5, 0.41), 0.41)[1]
    # alternative: the average is lost
    assert not C.l5_verdict(_m(0.2, 2.5, 0.1, 0.35), _m(0.2, 4.0, 0.5, 0.41), 0.41)[1]


def test_l6_calibration():
    assert C.l6_verdict(0.1, 0.2, 0.40, 0.405)[1]
    # alternative: calibration does not touch the rote errors, or costs the average
    assert not C.l6_verdict(0.2, 0.2, 0.40, 0.405)[1]
    assert not C.l6_verdict(0.1, 0.2, 0.38, 0.405)[1]


def test_l7_drift():
    assert C.l7_verdict({"r2": 0.3, "er": 0.7}, {"r2": 0.28, "er": 0.7})[1]
    # alternative: mitigation hurts on new content
    assert not C.l7_verdict({"r2": 0.25, "er": 0.7}, {"r2": 0.28, "er": 0.7})[1]
    assert not C.l7_verdict({"r2": 0.3, "er": 0.6}, {"r2": 0.28, "er": 0.7})[1]


def test_negative_control():
    assert C.control_verdict(1.4, 5.0)[1]
    # alternative: the gap comes from the binning itself (as large without storylines)
    assert not C.control_verdict(4.5, 5.0)[1]
    assert not C.control_verdict(1.4, 0.9)[1]  # no gap in the main setting either
