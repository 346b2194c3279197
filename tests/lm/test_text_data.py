"""Synthetic text: sparse Markov chains, canaries, repetition as multiplicities with fixed shapes,
deduplication."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import text
from rote.sims.errors import ConfigError

CHAIN = dict(n_states=20, k=3, concentration=0.5)  # one compiled chain builder and sampler for the whole module


def test_markov_rows_sum_to_one_with_exactly_k_successors():
    chains = np.stack([np.asarray(text.markov_chain(jax.random.PRNGKey(i), **CHAIN)) for i in (0, 1, 0)])
    np.testing.assert_allclose(chains.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal((chains > 0).sum(-1), 3)
    assert not np.array_equal(chains[0], chains[1])  # the key decides the chain
    np.testing.assert_array_equal(chains[0], chains[2])
    with pytest.raises(ConfigError, match="k must be"):
        text.markov_chain(jax.random.PRNGKey(0), 5, 6)


def test_sequences_follow_the_chain():
    chain = text.markov_chain(jax.random.PRNGKey(1), **CHAIN)
    seqs = np.asarray(text.sample_sequences(jax.random.PRNGKey(2), chain, 200, 25, offset=10))
    assert seqs.shape == (200, 25) and seqs.min() >= 10 and seqs.max() < 30
    src, dst = seqs[:, :-1].ravel() - 10, seqs[:, 1:].ravel() - 10
    assert np.all(np.asarray(chain)[src, dst] > 0)  # only allowed transitions
    counts = np.zeros((20, 20))
    np.add.at(counts, (src, dst), 1)
    freq = counts / counts.sum(1, keepdims=True)
    busy = counts.sum(1) > 300
    assert np.abs(freq[busy] - np.asarray(chain)[busy]).max() < 0.12  # binomial sd <= 0.03 at >300 visits


def test_loss_floor():
    """0 for a deterministic cycle, log S for the uniform chain, and the Monte-Carlo mean of
    -log T[x_t, x_t+1] over sampled sequences."""
    perm = jnp.eye(6)[jnp.array([1, 2, 3, 4, 5, 0])]
    assert abs(float(text.chain_loss_floor(perm, 25))) < 1e-6
    assert abs(float(text.chain_loss_floor(jnp.full((6, 6), 1 / 6), 25)) - np.log(6)) < 1e-5
    chain = text.markov_chain(jax.random.PRNGKey(1), **CHAIN)
    seqs = np.asarray(text.sample_sequences(jax.random.PRNGKey(2), chain, 200, 25, offset=10)) - 10
    mc = -np.log(np.asarray(chain)[seqs[:, :-1], seqs[:, 1:]]).mean()
    assert abs(mc - float(text.chain_loss_floor(chain, 25))) < 0.05  # sd of the MC mean about 0.01


def test_canaries_and_secret_space():
    assert text.secret_space(4).shape == (10_000, 4)
    np.testing.assert_array_equal(text.secret_digits(jnp.array([407, 9999]), 4), [[0, 4, 0, 7], [9, 9, 9, 9]])
    secrets = np.asarray(text.random_secrets(jax.random.PRNGKey(3), 48, 4))
    assert len(set(secrets.tolist())) == 48 and secrets.max() < 10_000
    template = jnp.arange(10, 16)
    c = np.asarray(text.canaries(template, jnp.asarray(secrets), 4))
    assert c.shape == (48, 10)
    np.testing.assert_array_equal(c[:, :6], np.broadcast_to(np.arange(10, 16), (48, 6)))
    np.testing.assert_array_equal(c[:, 6:], np.asarray(text.secret_space(4))[secrets])  # the canary is row `secret` of R
    with pytest.raises(ConfigError, match="do not fit a vocabulary"):
        text.check_canary_layout(vocab=8, context=24, template_length=6, n_digits=4)
    with pytest.raises(ConfigError, match="shorter than the canary"):
        text.check_canary_layout(vocab=48, context=8, template_length=6, n_digits=4)
    with pytest.raises(ConfigError, match="do not fit a secret space"):
        text.random_secrets(jax.random.PRNGKey(0), 11, 1)


def test_repetition_is_a_traced_axis_with_fixed_shapes():
    """One jitted, vmapped builder over r in {0, 1, 2, 4, 8, 16}: same shapes, counts = r on canary rows."""
    data = text.sample_sequences(jax.random.PRNGKey(4), text.markov_chain(jax.random.PRNGKey(5), **CHAIN), 200, 25, offset=10)[:40, :24]
    cans = text.canaries(jnp.arange(10, 16), text.random_secrets(jax.random.PRNGKey(6), 8, 4), 4)

    def build(r):
        rows = text.overwrite_start(data[:8], cans)  # canary + an ordinary tail: full training length
        return text.with_inserted(data[8:], jnp.ones(32, jnp.int32), rows, r)

    reps = jnp.array([0, 1, 2, 4, 8, 16])
    tokens, counts = jax.jit(jax.vmap(build))(reps)
    assert tokens.shape == (6, 40, 24) and counts.shape == (6, 40)
    np.testing.assert_array_equal(counts[:, 32:], np.repeat(np.asarray(reps)[:, None], 8, 1))
    np.testing.assert_array_equal(tokens[3, 32:, :10], cans)
    dup = text.repeat_rows(jnp.ones(32, jnp.int32), jnp.array([0, 5]), 4)  # duplicated ordinary sequences
    assert int(dup.sum()) == 30 + 8 and dup.shape == (32,)


def test_deduplicate_caps_multiplicities_at_one():
    rows = jnp.array([[1, 2, 3], [4, 5, 6], [1, 2, 3], [7, 8, 9], [4, 5, 6], [1, 2, 4]])
    counts = jnp.array([0, 3, 5, 0, 2, 1])
    kept = np.asarray(jax.jit(text.deduplicate)(rows, counts))
    # [1,2,3] kept once on its first present copy (row 2), [4,5,6] on row 1, [7,8,9] never occurs, [1,2,4] distinct
    np.testing.assert_array_equal(kept, [0, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(text.deduplicate(rows, jnp.asarray(kept)), kept)  # idempotent


def test_sampling_and_occurrences_respect_counts():
    counts = jnp.array([2, 0, 3, 1])
    idx, valid = text.occurrences(counts, 8)
    np.testing.assert_array_equal(np.asarray(idx)[np.asarray(valid)], [0, 0, 2, 2, 2, 3])
    assert int(valid.sum()) == 6 and idx.shape == (8,)
    draws = np.asarray(text.sample_batch(jax.random.PRNGKey(7), counts, 6000))
    freq = np.bincount(draws, minlength=4) / 6000
    assert freq[1] == 0
    np.testing.assert_allclose(freq, [2 / 6, 0, 3 / 6, 1 / 6], atol=0.03)  # binomial sd <= 0.0065
