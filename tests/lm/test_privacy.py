"""Per-example gradients, per-example and per-microbatch clipping, DP-SGD noise and the accountant."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import optimize, stats

from rote.sims import lm, privacy
from rote.sims.errors import ConfigError

MODEL = lm.TinyLM(vocab=16, context=12, width=32, layers=1, heads=2)


def logistic_loss(params, example):
    """A two-leaf model (cheap to compile) for the generic gradient tests: one example (x (5,), y)."""
    x, y = example
    z = jnp.tanh(x @ params["w1"]) @ params["w2"]
    return jnp.logaddexp(0.0, -y * z)


@pytest.fixture(scope="module")
def out():
    """Everything the generic gradient tests compare, from one compiled program (8 examples)."""
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    params = {"w1": jax.random.normal(k1, (5, 4)), "w2": jax.random.normal(k2, (4,))}
    batch = (jax.random.normal(k3, (8, 5)), jnp.sign(jax.random.normal(k4, (8,))))

    @jax.jit
    def run(params, batch):
        grads = privacy.per_example_grads(logistic_loss, params, batch)
        C = jnp.median(privacy.global_norms(grads))
        sgd = optax.chain(privacy.dp_aggregate_transform(jnp.inf, 0.0, jax.random.PRNGKey(3)), optax.sgd(0.1))
        return dict(
            grads=grads, C=C, clipped=privacy.clip_rows(grads, C), unclipped=privacy.clip_rows(grads, jnp.inf),
            one=jax.grad(logistic_loss)(params, (batch[0][3], batch[1][3])),
            plain=jax.grad(lambda p: jnp.mean(jax.vmap(logistic_loss, (None, 0))(p, batch)))(params),
            dp=privacy.dp_gradient(logistic_loss, params, batch, jax.random.PRNGKey(2), jnp.inf, 0.0),
            dp_step=sgd.update(grads, sgd.init(params), params)[0],
            micro8_clipped=privacy.clipped_mean(privacy.per_microbatch_grads(logistic_loss, params, batch, 8), C),
            micro8_dp=privacy.dp_gradient(logistic_loss, params, batch, jax.random.PRNGKey(2), C, 0.0, n_micro=8),
            example_clipped=privacy.clipped_mean(grads, C),
            micro2=privacy.per_microbatch_grads(logistic_loss, params, batch, 2))

    return run(params, batch)


def flat(tree):
    return np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(tree)])


def row(tree, i):
    return jax.tree_util.tree_map(lambda g: g[i], tree)


def test_per_example_grads_are_each_examples_gradient(out):
    np.testing.assert_allclose(flat(row(out["grads"], 3)), flat(out["one"]), rtol=1e-5, atol=1e-7)
    mean = jax.tree_util.tree_map(lambda g: g.mean(0), out["grads"])
    np.testing.assert_allclose(flat(mean), flat(out["plain"]), rtol=1e-5, atol=1e-7)


def test_clipping_bounds_every_norm(out):
    norms, C = np.asarray(privacy.global_norms(out["grads"])), float(out["C"])
    clipped_norms = np.asarray(privacy.global_norms(out["clipped"]))
    assert np.all(clipped_norms <= C * (1 + 1e-5))
    small = norms <= C
    np.testing.assert_allclose(clipped_norms[small], norms[small], rtol=1e-5)  # short rows untouched
    np.testing.assert_allclose(clipped_norms[~small], C, rtol=1e-5)
    np.testing.assert_array_equal(flat(out["unclipped"]), flat(out["grads"]))  # C = inf


def test_dp_step_with_no_noise_and_no_clipping_is_the_plain_step(out):
    """sigma = 0, C = inf: the DP-SGD gradient and the optax step equal the plain ones (float tolerance)."""
    np.testing.assert_allclose(flat(out["dp"]), flat(out["plain"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(flat(out["dp_step"]), -0.1 * flat(out["plain"]), rtol=1e-5, atol=1e-8)


def test_dp_step_of_the_lm_is_the_plain_step():
    """The same on the tiny LM, per-example gradients of per-example mean token losses."""
    params = lm.init_params(MODEL, jax.random.PRNGKey(0))
    batch = jax.random.randint(jax.random.PRNGKey(1), (4, 10), 0, 16)
    loss_fn = lambda p, x: lm.example_losses(MODEL, p, x)  # one example (T,) -> scalar
    plain, dp = jax.jit(lambda p: (jax.grad(lambda q: lm.mean_loss(MODEL, q, batch))(p),
                                   privacy.dp_gradient(loss_fn, p, batch, jax.random.PRNGKey(2), jnp.inf, 0.0)))(params)
    np.testing.assert_allclose(flat(dp), flat(plain), rtol=1e-4, atol=1e-7)


def test_microbatch_size_one_is_per_example_clipping(out):
    np.testing.assert_allclose(flat(out["micro8_clipped"]), flat(out["example_clipped"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(flat(out["micro8_dp"]), flat(out["example_clipped"]), rtol=1e-5, atol=1e-7)
    half = jax.tree_util.tree_map(lambda g: g[4:].mean(0), out["grads"])  # microbatch 2 of 2: examples 4..7
    np.testing.assert_allclose(flat(row(out["micro2"], 1)), flat(half), rtol=1e-5, atol=1e-7)
    with pytest.raises(ConfigError, match="must divide the batch size 8"):
        privacy.split_microbatches(jnp.zeros((8, 10)), 3)


def test_noise_has_standard_deviation_sigma_c_over_b():
    zeros = {"w": jnp.zeros((4, 20_000))}
    noisy = privacy.dp_aggregate(zeros, 0.5, 2.0, jax.random.PRNGKey(4))["w"]
    assert abs(float(jnp.std(noisy)) - 2.0 * 0.5 / 4) < 0.005  # sd of the sd estimate: 0.25 / sqrt(40000)
    assert abs(float(jnp.mean(noisy))) < 0.005


def analytic_gaussian_epsilon(sigma_eff: float, delta: float) -> float:
    """Exact epsilon of the Gaussian mechanism (sensitivity 1, noise sd sigma_eff) at delta, from
    Balle & Wang (arXiv 1805.06530, Theorem 8): delta(eps) = Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s)."""
    s = sigma_eff
    gap = lambda eps: stats.norm.cdf(1 / (2 * s) - eps * s) - math.exp(eps) * stats.norm.cdf(-1 / (2 * s) - eps * s) - delta
    return optimize.brentq(gap, 0.0, 100.0)


def test_accountant_matches_the_analytic_gaussian_without_subsampling():
    """q = 1: T Gaussian steps of noise multiplier sigma are one Gaussian mechanism of sd sigma / sqrt(T).
    PLD is within 1 % of the exact value (above it: pessimistic discretization); RDP is a looser bound."""
    exact = analytic_gaussian_epsilon(4.0 / math.sqrt(10), 1e-5)
    pld = privacy.epsilon(4.0, 1.0, 10, 1e-5)
    rdp = privacy.epsilon(4.0, 1.0, 10, 1e-5, accountant="rdp")
    assert exact <= pld <= 1.01 * exact, (exact, pld)
    assert rdp >= pld


def test_accountant_with_subsampling_is_monotone_and_rdp_is_looser():
    q, delta = 32 / 2000, 1e-5
    pld = [privacy.epsilon(s, q, 500, delta) for s in (0.8, 1.0, 2.0)]
    assert pld[0] > pld[1] > pld[2] > 0
    assert privacy.epsilon(1.0, q, 1000, delta) > pld[1]
    assert privacy.epsilon(1.0, 2 * q, 500, delta) > pld[1]
    rdp = privacy.epsilon(1.0, q, 500, delta, accountant="rdp")
    assert pld[1] <= rdp <= 1.6 * pld[1], (pld[1], rdp)
    assert privacy.epsilon(0.0, q, 10, delta) == math.inf
    assert privacy.epsilon(1.0, q, 0, delta) == 0.0


@pytest.mark.parametrize("args, field", [((-1.0, 0.1, 10, 1e-5), "noise_multiplier"), ((1.0, 1.5, 10, 1e-5), "sampling_rate"),
                                         ((1.0, 0.1, -1, 1e-5), "steps"), ((1.0, 0.1, 2.5, 1e-5), "steps"),
                                         ((1.0, 0.1, 10, 0.0), "delta"), ((1.0, 0.1, 10, 1.0), "delta")])
def test_accountant_rejects_bad_input_in_one_line(args, field):
    with pytest.raises(ConfigError, match=f"^{field} must be") as err:
        privacy.epsilon(*args)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="accountant must be one of"):
        privacy.epsilon(1.0, 0.1, 10, 1e-5, accountant="moments")
