"""The one-run audit lower bound (theory/privacy_audit.py, Steinke, Nasr, Jagielski, arXiv 2305.08846)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from rote.theory import privacy_audit as pa


def test_all_correct_without_delta_is_the_closed_form():
    for r in (8, 32, 100):
        expected = special.logit(0.05 ** (1 / r))
        assert pa.epsilon_lower_bound(2 * r, r, r, 0.0, 0.95) == pytest.approx(expected, abs=1e-5)
        assert pa.max_auditable(r) == pytest.approx(expected)


def test_chance_guesses_give_no_bound():
    assert pa.epsilon_lower_bound(100, 50, 25, 1e-5) == 0.0
    assert pa.epsilon_lower_bound(100, 50, 0, 1e-5) == 0.0


def test_delta_weakens_the_bound_and_p_value_grows_with_epsilon():
    assert pa.epsilon_lower_bound(1000, 500, 450, 1e-3) < pa.epsilon_lower_bound(1000, 500, 450, 0.0)
    ps = [pa.p_value(1000, 500, 450, e, 1e-5) for e in (0.5, 1.0, 2.0, 3.0)]
    assert ps == sorted(ps)


def test_more_correct_guesses_give_a_larger_bound():
    bounds = [pa.epsilon_lower_bound(400, 100, v, 1e-5) for v in (60, 70, 80, 90, 100)]
    assert bounds == sorted(bounds) and bounds[0] > 0


def test_randomized_response_is_never_over_audited():
    """A mechanism that IS eps0-DP (randomized response on each inclusion bit): the 95 % lower bound
    exceeds eps0 in at most about 5 % of runs (the guarantee), and it has power (well above 0)."""
    rng = np.random.default_rng(0)
    eps0, m, trials = 1.0, 2000, 200
    bounds = []
    for _ in range(trials):
        included = rng.random(m) < 0.5
        truthful = rng.random(m) < special.expit(eps0)
        seen = np.where(truthful, included, ~included)  # what the mechanism reveals about each bit
        score = seen + 0.01 * rng.standard_normal(m)  # ties broken at random
        bounds.append(pa.one_run_audit(score, included, 500, 500, 0.0)["epsilon"])
    bounds = np.array(bounds)
    assert np.mean(bounds > eps0) <= 0.08
    assert np.median(bounds) > 0.5 * eps0


def test_guesses_and_inputs():
    g = pa.guesses([0.1, 0.9, 0.5, 0.3], 1, 2)
    np.testing.assert_array_equal(g, [-1, 1, 0, -1])
    with pytest.raises(ValueError):
        pa.guesses([0.1, 0.2], 2, 1)
    with pytest.raises(ValueError):
        pa.epsilon_lower_bound(10, 5, 6)
    out = pa.one_run_audit([3.0, 2.0, 1.0, 0.0], [True, True, False, False], 1, 1)
    assert out["guesses"] == 2 and out["correct"] == 2 and out["m"] == 4
