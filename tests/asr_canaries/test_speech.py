"""The shared synthetic-speech pieces (rote.sims.speech): rendering, speed-up, canaries, feasibility,
greedy CTC decoding, edit distance."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import speech
from rote.sims.errors import ConfigError


def levenshtein(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_edit_distance_matches_reference():
    rng = np.random.default_rng(0)
    n, La, Lb = 60, 7, 9
    a, b = rng.integers(1, 4, (n, La)), rng.integers(1, 4, (n, Lb))
    la, lb = rng.integers(0, La + 1, n), rng.integers(0, Lb + 1, n)
    got = np.asarray(jax.vmap(speech.edit_distance)(jnp.asarray(a), jnp.asarray(la), jnp.asarray(b), jnp.asarray(lb)))
    want = [levenshtein(a[i, : la[i]], b[i, : lb[i]]) for i in range(n)]
    np.testing.assert_array_equal(got, want)
    ter = np.asarray(speech.token_error_rate(jnp.asarray(b), jnp.asarray(lb), jnp.asarray(a), jnp.asarray(np.maximum(la, 1))))
    np.testing.assert_allclose(ter, [levenshtein(a[i, : max(la[i], 1)], b[i, : lb[i]]) / max(la[i], 1) for i in range(n)], rtol=1e-6)


def test_greedy_decode_collapses_repeats_and_drops_blanks():
    path = jnp.array([[0, 3, 3, 0, 3, 5, 5, 0, 2, 2]])  # -> 3 3 5 2 (the blank separates the repeated 3)
    logits = jax.nn.one_hot(path, 6) * 10.0
    hyp, n = speech.greedy_decode(logits, jnp.array([10]))
    assert int(n[0]) == 4 and np.asarray(hyp[0, :4]).tolist() == [3, 3, 5, 2] and np.all(np.asarray(hyp[0, 4:]) == 0)
    hyp, n = speech.greedy_decode(logits, jnp.array([6]))  # frames past out_frames are ignored
    assert np.asarray(hyp[0, : int(n[0])]).tolist() == [3, 3, 5]
    ref = jnp.array([[3, 3, 5, 2, 0]])
    assert float(speech.exact_match(hyp, n, ref, jnp.array([3]))[0]) == 1.0
    assert float(speech.exact_match(hyp, n, ref, jnp.array([4]))[0]) == 0.0


def test_speed_up_pools_rolls_and_scales():
    frames = jnp.arange(2 * 7 * 4, dtype=jnp.float32).reshape(2, 7, 4)
    n = jnp.array([7, 4])
    fast, fn = speech.speed_up(frames, n, factor=3, shift=1, gain=2.0)
    assert fast.shape == (2, 3, 4) and np.asarray(fn).tolist() == [3, 2]
    f = np.asarray(frames)
    want0 = np.stack([f[0, 0:3].mean(0), f[0, 3:6].mean(0), f[0, 6:7].mean(0)])
    np.testing.assert_allclose(np.asarray(fast[0]), 2.0 * np.roll(want0, 1, axis=-1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fast[1, 1]), 2.0 * np.roll(f[1, 3:4].mean(0), 1), rtol=1e-6)  # partial window: valid frames only


def test_render_durations_and_padding():
    protos = speech.prototypes(jax.random.PRNGKey(0), 5, 3)
    tokens, lengths = jnp.array([[1, 2, 3, 0], [4, 0, 0, 0]]), jnp.array([3, 1])
    frames, n = speech.render(jax.random.PRNGKey(1), tokens, lengths, protos, 16, 2, 4, 0.0)
    n = np.asarray(n)
    assert 6 <= n[0] <= 12 and 2 <= n[1] <= 4
    f = np.asarray(frames)
    assert np.all(f[0, n[0] :] == 0) and np.allclose(f[1, : n[1]], np.asarray(protos[4]))
    firsts = [tuple(np.round(v, 5)) for v in f[0, : n[0]]]
    assert [k for k, _ in itertools.groupby(firsts)] == [tuple(np.round(np.asarray(protos[t]), 5)) for t in (1, 2, 3)]
    with pytest.raises(ConfigError, match="max_frames"):
        speech.render(jax.random.PRNGKey(1), tokens, lengths, protos, 8, 2, 4, 0.0)


def test_language_and_canaries_have_no_adjacent_repeats():
    chain = speech.bigram_chain(jax.random.PRNGKey(0), 6, 0.3)
    assert np.allclose(np.diag(np.asarray(chain)), 0, atol=1e-5) and np.allclose(np.asarray(chain).sum(1), 1, atol=1e-5)
    toks, lens = speech.sample_utterances(jax.random.PRNGKey(1), chain, 50, 3, 7)
    assert int(speech.adjacent_repeats(toks, lens).max()) == 0 and np.all(np.asarray(toks) <= 6)
    can = speech.random_strings(jax.random.PRNGKey(2), 200, 8, 4)
    assert np.all(np.diff(np.asarray(can), axis=1) != 0) and set(np.unique(np.asarray(can))) == {1, 2, 3, 4}


def test_ctc_feasibility():
    labels = jnp.array([[1, 1, 2, 0], [1, 2, 3, 4]])
    lens = jnp.array([3, 4])
    assert np.asarray(speech.ctc_feasible(jnp.array([4, 4]), labels, lens)).tolist() == [True, True]
    assert np.asarray(speech.ctc_feasible(jnp.array([3, 3]), labels, lens)).tolist() == [False, False]  # the repeat needs a blank
    speech.check_canary_feasible(8, 2, 6, 3)  # ceil(16 / 6) x 3 = 9 >= 8
    with pytest.raises(ConfigError, match="no CTC alignment"):
        speech.check_canary_feasible(8, 2, 8, 3)  # ceil(16 / 8) x 3 = 6 < 8
