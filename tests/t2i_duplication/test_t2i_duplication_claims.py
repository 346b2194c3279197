"""Each claim check passes on a plausible good input and fails on a wrong one AND on a plausible alternative."""

from __future__ import annotations

import numpy as np

from rote.sims.studies.t2i_duplication import claims as C

D = np.array([1, 2, 4, 8, 16, 32])


def test_f1_rises_with_d():
    good = np.array([0.0, 0.05, 0.2, 0.45, 0.7, 0.9])
    assert C.check_rises(D, good)[1]
    assert not C.check_rises(D, good[::-1])[1]  # wrong: falls with d
    assert not C.check_rises(D, np.full(6, 0.8))[1]  # alternative: flat (everything memorizes, d = 1 too)
    assert not C.check_rises(D, np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4]))[1]  # alternative: rises but plateaus below 0.5
    assert not C.check_rises(D, np.array([0.3, 0.4, 0.5, 0.6, 0.7, 0.9]))[1]  # uncalibrated: d = 1 replicates


def test_f2_caption_plus_image_vs_image_only():
    e1 = np.array([0.0, 0.05, 0.2, 0.45, 0.7, 0.9])
    assert C.check_ratio(D, e1, e1 * 0.1)[1]
    assert not C.check_ratio(D, e1, e1)[1]  # alternative: image duplication alone replicates as much
    assert not C.check_ratio(D, e1 * 0.1, e1 * 0.01)[1]  # nothing replicates: the ratio is not measured


def test_f3_trigger():
    alone = np.array([0.0, 0.05, 0.2, 0.45, 0.7, 0.9])
    assert C.check_trigger(D, alone, alone * 0.8, 0.0, 0.0)[1]
    assert not C.check_trigger(D, alone, alone * 0.2, 0.0, 0.0)[1]  # alternative: the rest of the caption overrides the word
    assert not C.check_trigger(D, alone, alone, 0.1, 0.0)[1]  # leak on generic prompts
    assert not C.check_trigger(D, alone, alone, 0.0, 0.2)[1]  # a never-trained trigger replicates
    assert not C.check_trigger(D, np.zeros(6), np.zeros(6), 0.0, 0.0)[1]  # no trigger effect at all


def test_f4_template():
    m = np.array([1, 4, 16, 64])
    assert C.check_template(m, [0.9, 0.9, 0.95, 0.9], [0.25, 0.3, 0.1, 0.02], 0.2)[1]
    assert not C.check_template(m, [0.9, 0.9, 0.95, 0.9], [0.9, 0.9, 0.9, 0.9], 0.9)[1]  # alternative: full members copied at every M
    assert not C.check_template(m, [0.2, 0.1, 0.1, 0.1], [0.25, 0.1, 0.05, 0.0], 0.2)[1]  # the template is not copied
    assert not C.check_template(m, [0.9, 0.9, 0.95, 0.9], [0.8, 0.3, 0.1, 0.02], 0.2)[1]  # M = 1 disagrees with E1 at d = 4


def test_f5_detector():
    assert C.check_detector([0.97, 0.95], np.ones(8))[1]
    assert not C.check_detector([0.6, 0.55], np.ones(8))[1]  # wrong: near-chance detector
    assert not C.check_detector([0.97, 0.95], np.array([1, 2, 3, 1, 4, 2, 1, 5]))[1]  # alternative: blame spread over the caption


def test_f6_guidance():
    w = np.array([1.0, 3.0, 7.0])
    d = np.array([1, 4, 16])
    good = np.array([[0.0, 0.1, 0.4], [0.0, 0.3, 0.7], [0.05, 0.5, 0.9]])
    assert C.check_guidance(w, d, good)[1]
    assert not C.check_guidance(w, d, good[::-1])[1]  # wrong: falls with w
    assert not C.check_guidance(w, d, np.tile(good[1], (3, 1)))[1]  # alternative: flat in w
    assert not C.check_guidance(w, d, np.array([[0.0, 0.3, 0.4], [0.0, 0.1, 0.7], [0.05, 0.5, 0.9]]))[1]  # non-monotone at d = 4


def test_f7_mitigation():
    assert C.check_mitigation(0.8, 0.3, 0.9, 0.85)[1]
    assert not C.check_mitigation(0.8, 0.6, 0.9, 0.85)[1]  # alternative: a 25 % cut only
    assert not C.check_mitigation(0.8, 0.1, 0.9, 0.5)[1]  # cut bought by destroying the attributes
    assert not C.check_mitigation(0.1, 0.0, 0.9, 0.9)[1]  # baseline too low to measure a cut
