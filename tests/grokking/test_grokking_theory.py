"""theory/grokking.py: IPR conventions, Gromov's periodic solution, sympy noise bookkeeping, phases."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from rote.theory import grokking as theory
from rote.theory.grokking import Phase

# --------------------------------------------------------------------------------------------------
# IPR
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [23, 47, 97])
@pytest.mark.parametrize("freq", [1, 5, 11])
def test_ipr_of_a_cosine_is_one_with_rfft_and_half_with_full_fft(p, freq):
    j = np.arange(p)
    row = np.cos(2 * np.pi * freq * j / p + 0.7)
    assert float(theory.ipr(row)) == pytest.approx(1.0, abs=1e-6)
    assert float(theory.ipr(row, full_fft=True)) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("p", [23, 47, 97])
def test_ipr_of_one_hot_and_constant_rows(p):
    one_hot = np.eye(p)[3]
    assert float(theory.ipr(one_hot)) == pytest.approx(1 / (p // 2 + 1), rel=1e-5)
    assert float(theory.ipr(one_hot, full_fft=True)) == pytest.approx(1 / p, rel=1e-5)
    assert float(theory.ipr(np.full(p, -2.5))) == pytest.approx(1.0, abs=1e-6)  # DC only


def test_reference_values_of_the_fact_sheet():
    assert theory.reference_ipr(97, "gaussian") == pytest.approx(0.040, abs=0.002)
    assert theory.reference_ipr(97, "gaussian", full_fft=True) == pytest.approx(0.020, abs=0.002)
    assert theory.reference_ipr(47, "gaussian") == pytest.approx(0.081, abs=0.003)
    assert theory.reference_ipr(97, "one_hot") == pytest.approx(1 / 49, rel=1e-5)
    assert theory.reference_ipr(97, "cosine") == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        theory.reference_ipr(97, "square")


def test_ipr_is_a_batch_function_with_nan_for_zero_rows():
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((4, 3, 31))
    rows[1, 2] = 0.0
    out = np.asarray(theory.ipr(rows))
    assert out.shape == (4, 3)
    assert np.isnan(out[1, 2]) and np.isfinite(np.delete(out.ravel(), 5)).all()
    assert ((out[np.isfinite(out)] > 1 / 31) & (out[np.isfinite(out)] <= 1)).all()


def test_ipr_is_scale_invariant_down_to_tiny_rows():
    rng = np.random.default_rng(2)
    rows = rng.standard_normal((8, 97))
    base = np.asarray(theory.ipr(rows))
    for scale in (1e-30, 1e-20, 1e20):
        np.testing.assert_allclose(np.asarray(theory.ipr(scale * rows)), base, rtol=1e-5)
    # without the normalisation float32 would underflow: make sure the row really is tiny in float32
    assert np.float32(1e-30) ** 4 == 0


def test_neuron_ipr_masks_zero_rows():
    p, N = 13, 5
    rng = np.random.default_rng(3)
    U, V, W = rng.standard_normal((N, p)), rng.standard_normal((N, p)), rng.standard_normal((p, N))
    full = np.asarray(theory.neuron_ipr(U, V, W))
    per_row = [np.asarray(theory.ipr(M)) for M in (U, V, W.T)]
    np.testing.assert_allclose(full, np.mean(per_row, axis=0), rtol=1e-6)
    U[1] = 0.0  # one zero row among nonzero ones: skipped, mean of the other two
    V[2] = W[:, 2] = U[2] = 0.0  # a fully dead neuron: NaN
    out = np.asarray(theory.neuron_ipr(U, V, W))
    assert out[1] == pytest.approx((per_row[1][1] + per_row[2][1]) / 2, rel=1e-6)
    assert np.isnan(out[2])
    assert np.isfinite(np.delete(out, 2)).all()
    assert np.isfinite(np.nanmean(out))


# --------------------------------------------------------------------------------------------------
# Periodic solution (Eq. 2)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [+1, -1])
def test_periodic_solution_shapes_and_amplitude(sign):
    p, N = 97, 50  # N < p: every frequency is nonzero mod p, so every row is a full cosine
    U, V, W = theory.periodic_solution(p, N, seed=4, amplitude_sign=sign)
    assert U.shape == (N, p) and V.shape == (N, p) and W.shape == (p, N)
    A = (2.0 / N) ** (sign / 3.0)
    for M in (U, V, W.T):
        np.testing.assert_allclose(np.sqrt(2 * np.mean(M**2, axis=1)), A, rtol=1e-10)
        assert np.abs(M).max() <= A * (1 + 1e-12)
    np.testing.assert_allclose(np.asarray(theory.neuron_ipr(U, V, W)), 1.0, atol=1e-6)
    # W[:, k] = A cos(2 pi sigma q / p + phi_u + phi_v): its Fourier phase is the sum of U's and V's
    fu, fv, fw = (np.fft.rfft(M, axis=1) for M in (U, V, W.T))
    bins = np.argmax(np.abs(fu), axis=1)
    assert (bins == np.argmax(np.abs(fv), axis=1)).all() and (bins == np.argmax(np.abs(fw), axis=1)).all()
    at = lambda f: f[np.arange(N), bins]  # noqa: E731
    np.testing.assert_allclose(np.exp(1j * np.angle(at(fw))), np.exp(1j * (np.angle(at(fu)) + np.angle(at(fv)))), atol=1e-9)


def test_periodic_solution_is_seeded():
    a = theory.periodic_solution(23, 64, seed=0)
    b = theory.periodic_solution(23, 64, seed=0)
    c = theory.periodic_solution(23, 64, seed=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])


def test_solution_statistics_small_draws():
    wide = theory.solution_statistics(97, 256, draws=2)
    assert (wide["accuracy"] == 1.0).all()
    assert np.abs(wide["correct_logit"] - 1).max() < 0.05
    narrow = theory.solution_statistics(97, 48, draws=2)
    assert (narrow["accuracy"] < 1.0).all()
    printed = theory.solution_statistics(97, 256, draws=1, amplitude_sign=-1)
    assert printed["correct_logit"][0] > 100  # the printed amplitude (2/N)^(-1/3) blows the logits up


def test_solution_logits_match_the_definition():
    U, V, W = theory.periodic_solution(11, 7, seed=5)
    logits = theory.solution_logits(U, V, W)
    m, n = 3, 9
    h = U[:, m] + V[:, n]
    np.testing.assert_allclose(logits[m, n], W @ (h * h), rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# sympy bookkeeping
# --------------------------------------------------------------------------------------------------


def test_noise_bookkeeping_mean_and_averaged_variance():
    mean, variance = theory.noise_bookkeeping()
    a, b, c = sp.symbols("a b c", real=True)
    assert sp.simplify(mean - sp.cos(a + b - c) / 2) == 0
    assert sp.simplify(theory.frequency_averaged_variance() - 1) == 0
    # at the target (a + b = c) the variance is 1 + 1/16
    assert sp.simplify(variance.subs(c, a + b) - sp.Rational(17, 16)) == 0


def test_predicted_logit_statistics():
    for N in (256, 500):
        pred = theory.predicted_logit_statistics(N)
        assert pred["correct_logit"] == pytest.approx(1.0, abs=1e-12)
        assert pred["wrong_std"] == pytest.approx(2 / np.sqrt(N), rel=1e-12)
        assert pred["mse"] == pytest.approx(4 / N, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------------


def test_inversion_levels():
    assert theory.full_inversion_train_accuracy(0.35, 97) == pytest.approx(0.6536, abs=1e-4)
    assert theory.inversion_boundary(0.35, 97) == pytest.approx(0.7036, abs=1e-4)
    assert theory.inversion_boundary(0.0, 47) == pytest.approx(1.05)


# (train, test, test_peak, xi, p) -> phase
CASES = [
    ((1.00, 0.99, 0.99, 0.35, 97), Phase.COEXISTENCE),
    ((0.90, 0.90, 0.90, 0.35, 97), Phase.COEXISTENCE),  # both thresholds inclusive
    ((0.80, 0.99, 0.99, 0.35, 97), Phase.PARTIAL_INVERSION),
    ((0.7037, 0.99, 0.99, 0.35, 97), Phase.PARTIAL_INVERSION),  # just above the boundary 0.7036
    ((0.70, 0.99, 0.99, 0.35, 97), Phase.FULL_INVERSION),  # just below
    ((0.654, 1.00, 1.00, 0.35, 97), Phase.FULL_INVERSION),
    ((0.99, 0.10, 0.15, 0.35, 97), Phase.MEMORIZATION),
    ((0.50, 0.50, 0.95, 0.35, 97), Phase.FORGETTING),
    ((0.50, 0.50, 0.90, 0.35, 97), Phase.FORGETTING),
    ((0.50, 0.10, 0.20, 0.35, 97), Phase.CONFUSION),
    ((0.899, 0.899, 0.899, 0.0, 97), Phase.CONFUSION),
    ((0.902, 1.00, 1.00, 0.10, 47), Phase.COEXISTENCE),  # small-xi overlap: a fully inverted net
    ((0.85, 0.95, 0.95, 0.10, 47), Phase.FULL_INVERSION),  # xi 0.1: Partial Inversion is empty
]


@pytest.mark.parametrize("args, expected", CASES)
def test_classify_phase_cases(args, expected):
    got = theory.classify_phase(*args)
    assert int(got) == int(expected), (args, Phase(int(got)).label)


def test_classify_phase_covers_every_phase_and_broadcasts():
    train, test, peak, xi, p = (np.array([a[i] for a, _ in CASES]) for i in range(5))
    out = theory.classify_phase(train, test, peak, xi, 97)
    assert out.dtype == np.int8 and out.shape == (len(CASES),)
    assert set(out.tolist()) == {int(ph) for ph in Phase}
    # broadcasting a scalar xi against a grid
    grid = theory.classify_phase(np.full((2, 3), 0.8), np.full((2, 3), 0.99), 0.99, 0.35, 97)
    assert grid.shape == (2, 3) and (grid == Phase.PARTIAL_INVERSION).all()


def test_classify_phase_nan_is_minus_one():
    out = theory.classify_phase(np.array([np.nan, 1.0, 1.0]), np.array([1.0, np.nan, 1.0]), 1.0, 0.2, 47)
    np.testing.assert_array_equal(out, [-1, -1, Phase.COEXISTENCE])


def test_phase_labels():
    assert Phase.PARTIAL_INVERSION.label == "Partial Inversion"
    assert [int(ph) for ph in Phase] == list(range(6))
