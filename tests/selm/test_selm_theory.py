"""Closed forms of theory/selm.py and the Fastfood projection of sims/fastfood.py against them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rote.sims import fastfood
from rote.sims.errors import ConfigError
from rote.theory import selm as th


def test_hadamard_is_orthogonal_and_butterflies_match():
    for n in (1, 2, 8, 64):
        H = th.hadamard(n)
        np.testing.assert_array_equal(H @ H, n * np.eye(n))
        x = np.random.default_rng(n).normal(size=(3, n))
        np.testing.assert_allclose(np.asarray(fastfood.walsh_hadamard(jnp.asarray(x))), x @ H, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        th.hadamard(12)
    with pytest.raises(ConfigError):
        fastfood.walsh_hadamard(jnp.zeros(12))


@pytest.mark.parametrize("d, D", [(5, 37), (16, 64), (1, 3)])
def test_fastfood_equals_explicit_dense_matrix(d, D):
    ff = fastfood.draw_key(jax.random.PRNGKey(d * D), D)
    dense = th.fastfood_dense(np.asarray(ff.b), np.asarray(ff.perm), np.asarray(ff.g), d, D)
    np.testing.assert_allclose(np.asarray(fastfood.dense_matrix(ff, d, D)), dense, rtol=1e-4, atol=1e-5)
    x = np.random.default_rng(0).normal(size=d).astype(np.float32)
    np.testing.assert_allclose(np.asarray(fastfood.project(ff, jnp.asarray(x), D)), dense @ x, rtol=1e-4, atol=1e-5)
    wrong = th.fastfood_dense(-np.asarray(ff.b), np.asarray(ff.perm), np.asarray(ff.g), d, D)  # another B
    assert not np.allclose(np.asarray(fastfood.dense_matrix(ff, d, D)), wrong, atol=1e-3)  # the comparison can fail


def test_fastfood_columns_have_unit_norm_on_average():
    D, d = 3000, 64
    ff = fastfood.draw_key(jax.random.PRNGKey(1), D)
    norms = np.linalg.norm(np.asarray(fastfood.dense_matrix(ff, d, D)), axis=0)
    assert abs(norms.mean() - 1.0) < 0.1


def test_new_key_does_not_recompile():
    D = 100
    f = jax.jit(lambda ff, x: fastfood.project(ff, x, D))
    x = jnp.ones(8)
    for k in range(3):
        f(fastfood.draw_key(jax.random.PRNGKey(k), D), x).block_until_ready()
    assert f._cache_size() == 1


def test_binomial_pvalue_matches_scipy_and_win_threshold():
    for n, k in [(100, 59), (100, 58), (40, 26), (20, 20), (10, 0)]:
        assert th.binomial_pvalue(k, n) == pytest.approx(stats.binomtest(k, n, 0.5, alternative="greater").pvalue, rel=1e-9)
    assert th.win_accuracy(100) == 0.59  # p = 0.044; 0.58 gives 0.067
    assert th.binomial_pvalue(59, 100) < 0.05 < th.binomial_pvalue(58, 100)
    with pytest.raises(ValueError):
        th.binomial_pvalue(11, 10)


def test_holm_step_down():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 -> stop: two rejections
    np.testing.assert_array_equal(th.holm(p), [True, False, False, True])
    np.testing.assert_array_equal(th.holm_adjusted(p) <= 0.05, th.holm(p))
    assert th.holm(np.array([0.04, 0.04])).sum() == 0  # Bonferroni-like at the first step
    assert th.holm(np.full((2, 3), 0.001)).all()
