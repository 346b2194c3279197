"""Batched greedy and sampled decoding: matches a step-by-step reference, reproduces an overfit
sequence, is deterministic for a fixed key, and handles soft prompts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rote.sims import decoding, lm
from rote.sims.errors import ConfigError
from rote.theory import exposure

MODEL = lm.TinyLM(vocab=16, context=12, width=32, layers=1, heads=2)


@pytest.fixture(scope="module")
def params():
    return lm.init_params(MODEL, jax.random.PRNGKey(0))


def reference_greedy(params, prompt, n_new, prefix=None):
    """Write one token at a time in a Python loop, each the argmax of the logit row before it."""
    k = prompt.shape[1]
    seq = np.concatenate([np.asarray(prompt), np.zeros((prompt.shape[0], n_new), int)], axis=1)
    P = 0 if prefix is None else prefix.shape[-2]
    apply = jax.jit(MODEL.apply)
    for i in range(k, k + n_new):
        seq[:, i] = np.asarray(apply(params, jnp.asarray(seq), prefix))[:, P + i - 1].argmax(-1)
    return seq


def test_greedy_matches_the_step_by_step_reference(params):
    prompt = jax.random.randint(jax.random.PRNGKey(1), (4, 2), 0, 16)  # the shapes of every test: one compile each
    out = decoding.greedy(MODEL, params, prompt, 10)
    assert out.shape == (4, 12) and out.dtype == jnp.int32
    np.testing.assert_array_equal(out, reference_greedy(params, prompt, 10))
    prefix = lm.init_prefix(jax.random.PRNGKey(2), 3, 32, scale=1.0)
    with_prefix = decoding.greedy(MODEL, params, prompt, 10, prefix=prefix)
    np.testing.assert_array_equal(with_prefix, reference_greedy(params, prompt, 10, prefix))
    alone = jax.eval_shape(lambda p, q: decoding.greedy(MODEL, p, prompt[:, :0], 4, prefix=q), params, prefix)
    assert alone.shape == (4, 4)  # a prefix alone (k = 0) is a valid prompt


def test_sampling_is_deterministic_for_a_key_and_temperature_zero_is_greedy(params):
    prompt = jax.random.randint(jax.random.PRNGKey(3), (4, 2), 0, 16)
    key = jax.random.PRNGKey(4)
    a = decoding.sample(MODEL, params, prompt, 10, key, 1.0, 0)
    np.testing.assert_array_equal(a, decoding.sample(MODEL, params, prompt, 10, key, 1.0, 0))
    assert np.any(a != decoding.sample(MODEL, params, prompt, 10, jax.random.PRNGKey(5), 1.0, 0))
    greedy = decoding.greedy(MODEL, params, prompt, 10)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, prompt, 10, key, 0.0, 0), greedy)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, prompt, 10, key, 1.0, 1), greedy)  # top-1


def test_top_k_keeps_k_logits():
    logits = jnp.array([[0.1, 2.0, -1.0, 0.5, 3.0]])
    kept = np.isfinite(np.asarray(decoding.top_k_logits(logits, 2)))
    np.testing.assert_array_equal(kept, [[False, True, False, False, True]])
    assert np.isfinite(np.asarray(decoding.top_k_logits(logits, 0))).all()
    assert np.isfinite(np.asarray(decoding.top_k_logits(logits, 99))).all()


def test_bad_lengths_are_config_errors(params):
    with pytest.raises(ConfigError, match="context"):
        decoding.greedy(MODEL, params, jnp.zeros((1, 8), jnp.int32), 5)
    with pytest.raises(ConfigError, match="prompt of at least one token"):
        decoding.greedy(MODEL, params, jnp.zeros((1, 0), jnp.int32), 3)


def test_greedy_reproduces_overfit_sequences(params):
    """Overfit four sequences (distinct 2-token prefixes), then greedy decoding from each true 2-token
    prefix extracts the rest exactly (extractability of arXiv 2202.07646; memorization score 1)."""
    seqs = jax.random.randint(jax.random.PRNGKey(6), (4, 12), 0, 16)
    seqs = seqs.at[:, :2].set(jnp.array([[0, 1], [2, 3], [4, 5], [6, 7]]))
    opt = optax.adam(1e-2)

    def step(carry, _):
        p, state = carry
        g = jax.grad(lambda q: lm.mean_loss(MODEL, q, seqs))(p)
        upd, state = opt.update(g, state, p)
        return (optax.apply_updates(p, upd), state), None

    (trained, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=300))((params, opt.init(params)))
    out = np.asarray(decoding.greedy(MODEL, trained, seqs[:, :2], 10))
    assert exposure.extractable(out, np.asarray(seqs), 2).all()
    np.testing.assert_array_equal(exposure.memorization_score(out, np.asarray(seqs), 2), 1.0)
    untrained = np.asarray(decoding.greedy(MODEL, params, seqs[:, :2], 10))
    assert not exposure.extractable(untrained, np.asarray(seqs), 2).any()
