"""Exposure (arXiv 1802.08232): exact, interpolated, extrapolated; the log2 e null; extractability."""

from __future__ import annotations

import numpy as np
import pytest

from rote.theory import exposure as ex


def test_rank_one_has_exposure_log2_space():
    px = np.arange(10_000, dtype=float) + 5.0  # candidate 0 is the most likely
    assert ex.exposure_exact(px, 0) == pytest.approx(np.log2(10_000))
    assert ex.exposure_exact(px, 9_999) == pytest.approx(0.0)
    tied = np.full(16, 3.0)  # ties count against the canary: rank |R|, exposure 0
    assert ex.exposure_exact(tied, 5) == 0.0
    with pytest.raises(ValueError, match="enumerated space"):
        ex.exposure_exact(px, 10_000)


def test_log_perplexity_is_bits_over_the_mask():
    lp = np.log(np.array([[0.5, 0.25, 0.125]]))
    assert ex.log_perplexity(lp)[0] == pytest.approx(6.0)
    assert ex.log_perplexity(lp, mask=[[False, True, True]])[0] == pytest.approx(5.0)


def test_null_exposure_is_log2_e():
    """Closed form: log2 n - log2(n!) / n -> log2 e (gap log2(2 pi n) / (2n) = 8.8e-4 at n = 10^4). Monte
    Carlo: 200000 uniform ranks average to log2 e within 0.02 bits (sd of the mean 1.44 / sqrt(2e5) = 0.003)."""
    assert ex.NULL_EXPOSURE == pytest.approx(1.442695, abs=1e-6)
    n = 10_000
    assert ex.expected_null_exposure(n) == pytest.approx(ex.NULL_EXPOSURE - np.log2(2 * np.pi * n) / (2 * n), abs=1e-6)
    ranks = np.random.default_rng(0).integers(1, n + 1, size=200_000)
    assert ex.exposure_from_rank(ranks, n).mean() == pytest.approx(ex.NULL_EXPOSURE, abs=0.02)


@pytest.fixture(scope="module")
def synthetic():
    """|R| = 10^4 log-perplexities ~ N(40, 4^2) (a model that memorized nothing has no reason to
    prefer a secret); canaries at exact ranks 1..9999; 2000 references drawn from the rest."""
    rng = np.random.default_rng(1)
    space = rng.normal(40.0, 4.0, 10_000)
    order = np.argsort(space)
    canaries = order[[9, 30, 100, 300, 1000, 3000, 7000]]  # exact exposure from 10 bits down to 0.5
    rest = np.setdiff1d(np.arange(10_000), canaries)
    refs = space[rng.choice(rest, 2000, replace=False)]
    return space, canaries, refs


def test_interpolation_with_every_other_candidate_is_exact(synthetic):
    space, canaries, _ = synthetic
    exact = ex.exposure_exact(space, canaries)
    for c, e in zip(canaries, exact):
        assert ex.exposure_interpolated(space[c], np.delete(space, c)) == pytest.approx(e)


def test_extrapolated_and_interpolated_agree_with_exact(synthetic):
    """The E1 check of arXiv 2310.18362 (sec. 3): within 1 bit where the exact exposure is below 10."""
    space, canaries, refs = synthetic
    exact = ex.exposure_exact(space, canaries)
    assert ex.agree(exact, ex.exposure_extrapolated(space[canaries], refs), tolerance=1.0)
    assert ex.agree(exact, ex.exposure_interpolated(space[canaries], refs), tolerance=1.0)


def test_estimators_fail_on_a_wrongly_scored_canary(synthetic):
    """The check can fail: canaries scored in nats instead of bits, or over the whole sequence
    (template tokens included, +6 bits), disagree with the exact exposure by more than 1 bit."""
    space, canaries, refs = synthetic
    exact = ex.exposure_exact(space, canaries)
    assert not ex.agree(exact, ex.exposure_extrapolated(space[canaries] * np.log(2), refs))
    assert not ex.agree(exact, ex.exposure_extrapolated(space[canaries] + 6.0, refs))
    assert not ex.agree(exact, ex.exposure_interpolated(space[canaries] + 6.0, refs))


def test_extractability_and_memorization_score():
    target = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
    generated = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 3, 9, 5, 9]])
    np.testing.assert_array_equal(ex.extractable(generated, target, 2), [True, False])
    np.testing.assert_allclose(ex.memorization_score(generated, target, 2), [1.0, 0.5])
    with pytest.raises(ValueError, match="true prefix"):
        ex.extractable(generated, target, 4)  # row 1 was not prompted with target[:, :4]
    with pytest.raises(ValueError, match="same shape"):
        ex.memorization_score(generated[:, :5], target, 2)
