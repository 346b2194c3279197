"""Each claim check passes on a plausible good input and fails on a wrong one AND on a plausible alternative."""

from __future__ import annotations

import numpy as np

from rote.sims.studies.t2i_taxonomy import claims as C


def test_t1():
    assert C.check_t1(0.9, 0.0)[1]
    assert not C.check_t1(0.9, 0.4)[1]  # alternative: the glyph is drawn by copying its images (the memorizer)
    assert not C.check_t1(0.3, 0.0)[1]  # wrong: the named glyph is not drawn


def test_t2():
    assert C.check_t2(0.8, 0.7, 0.7, 0.05)[1]
    assert not C.check_t2(0.8, 0.1, 0.1, 0.05)[1]  # alternative: the rare glyph is drawn without copying (no tension)
    assert not C.check_t2(0.8, 0.7, 0.7, 0.7)[1]  # alternative: glyph and copy tied at many contexts too
    assert not C.check_t2(0.2, 0.7, 0.7, 0.05)[1]  # wrong: the rare glyph is lost
    assert not C.check_t2(0.8, 0.7, np.nan, 0.05)[1]  # a constant variable shows no tie
    assert C.check_t2(0.8, 0.7, 0.7, np.nan)[1]


def test_t3():
    q = [0.5, 0.9, 1.0]
    assert C.check_t3(q, [0, 0.85, 0.95], [0.5, 0.85, 0.95])[1]
    assert not C.check_t3(q, [0, 0.85, 0.95], [0.95, 0.85, 0.95])[1]  # alternative: over-association at q = 0.5
    assert not C.check_t3(q, [0, 0.3, 0.4], [0.5, 0.3, 0.4])[1]  # wrong: the feature is not reproduced
    assert not C.check_t3(q, [0, 0.0, 0.0], [0.0, 0.0, 0.0])[1]  # alternative: features never drawn (a flat zero)


def test_t4():
    s = [1, 2, 4, 8]
    assert C.check_t4(s, [0.0, 0.05, 0.1, 0.3], 0.8)[1]
    assert not C.check_t4(s, [0.3, 0.2, 0.1, 0.0], 0.8)[1]  # wrong: falls with s
    assert not C.check_t4(s, [0.0, 0.0, 0.0, 0.0], 0.8)[1]  # alternative: stamps never copied (flat)
    assert not C.check_t4(s, [0.2, 0.25, 0.3, 0.4], 0.8)[1]  # a single stamped image is already copied
    assert not C.check_t4(s, [0.0, 0.05, 0.1, 0.3], 0.2)[1]  # duplicated textures are not copied


def test_t5():
    assert C.check_t5(0.8, 0.9, 0.2, 0.5)[1]
    assert not C.check_t5(0.5, 0.9, 0.2, 0.25)[1]  # alternative: guidance helps ME more than MU
    assert not C.check_t5(0.8, 0.9, 0.0, 0.0)[1]  # no MU at all: not measured
    assert C.check_t5(0.8, 0.9, 0.0, 0.1)[1]  # MU appears from none


def test_t6():
    assert C.check_t6(0.9, 0.85, 0.5, 0.2)[1]
    assert not C.check_t6(0.9, 0.45, 0.5, 0.25)[1]  # alternative: the mitigation cuts ME as much as MU
    assert not C.check_t6(0.9, 0.9, 0.5, 0.5)[1]  # no effect
    assert not C.check_t6(0.9, 0.9, 0.5, 0.7)[1]  # wrong: MU rises


def test_t7():
    assert C.check_t7([1.0, 0.99, np.nan], [1.0, 1.0, 0.995], [0.01, 0.0, 0.0], [0.03, 0.01, 0.01])[1]
    assert not C.check_t7([0.9, 1.0, np.nan], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.03, 0.01, 0.01])[1]  # the detector misses
    assert not C.check_t7([1.0, 1.0, np.nan], [0.7, 1.0, 1.0], [0.0, 0.0, 0.0], [0.03, 0.01, 0.01])[1]  # not a training image
    assert not C.check_t7([1.0, 1.0, np.nan], [1.0, 1.0, 1.0], [0.2, 0.0, 0.0], [0.03, 0.01, 0.01])[1]  # wrong law
