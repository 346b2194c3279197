"""Synthetic speech for CTC models: token prototypes, a bigram language, rendering, the sped-up renderer,
canaries, alignment feasibility, greedy CTC decoding and token error rate.

The audit of Wang, Thakkar, Mathews ("Unintended Memorization in Large ASR Models, and How to Mitigate
It", arXiv 2310.11739, Sec. 2-3): random token strings are rendered, sped up, and inserted into
training as canaries; ordinary (normal-speed) speech teaches almost nothing about sped-up speech, so
accurate transcripts of trained sped-up canaries, beyond those of never-trained ones, are memorization.

Toy acoustics (all sizes static Python ints, all randomness from ``jax.random`` keys, jit/vmap-able):
  * token k in 1..V has a fixed prototype p_k ~ N(0, I_D) in a D-dimensional "mel" space (id 0 is the
    CTC blank and has no sound);
  * the clean language is a bigram chain with peaked random rows and no self-transitions (adjacent repeats
    without a boundary cue would leave an irreducible CTC loss);
  * an utterance of L tokens lasts sum_i d_i frames (d_i uniform in [d_min, d_max]); each frame is
    p_token + sigma * eps;
  * the sped-up renderer average-pools non-overlapping windows of ``factor`` frames (a token then lasts
    about d / factor frames and neighbours mix), rolls the feature axis by ``shift`` and scales it by
    ``gain`` (a fixed "formant shift").
Sequences are right-padded: tokens with 0, frames with zeros; lengths are carried beside them.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError

BLANK = 0


def prototypes(key, vocab: int, dim: int):
    """(vocab + 1, dim) float32: row k is the prototype of token k (row 0, the blank, is zero)."""
    return jnp.concatenate([jnp.zeros((1, dim)), jax.random.normal(key, (vocab, dim))])


def bigram_chain(key, vocab: int, concentration: float = 0.3):
    """(vocab, vocab) row-stochastic matrix over tokens 1..vocab (index k - 1) without self-transitions:
    row weights u^(1 / concentration), u uniform (Beta(concentration, 1) draws: as peaked as a
    Dirichlet(concentration) row for concentration < 1, without a gamma sampler to compile), the diagonal
    removed, renormalized. No token follows itself."""
    if vocab < 2:
        raise ConfigError(f"a bigram chain without self-transitions needs at least 2 tokens, got {vocab}")
    u = jax.random.uniform(key, (vocab, vocab), minval=1e-6, maxval=1.0)
    w = u ** (1.0 / concentration) * (1.0 - jnp.eye(vocab)) + 1e-6 * (1.0 - jnp.eye(vocab))  # every other token reachable
    return w / w.sum(1, keepdims=True)


def sample_utterances(key, chain, n: int, min_len: int, max_len: int):
    """n token strings of the chain: (tokens (n, max_len) int32 in 1..V right-padded with 0, lengths (n,)),
    lengths uniform in [min_len, max_len], a uniform first token."""
    V = chain.shape[0]
    log_t = jnp.log(chain)
    k_len, k_first, k_steps = jax.random.split(key, 3)
    lengths = jax.random.randint(k_len, (n,), min_len, max_len + 1)
    first = jax.random.randint(k_first, (n,), 0, V)

    def one(s0, kk):
        def step(s, kt):
            nxt = jax.random.categorical(kt, log_t[s])
            return nxt, nxt

        _, rest = jax.lax.scan(step, s0, jax.random.split(kk, max_len - 1))
        return jnp.concatenate([s0[None], rest])

    seqs = jax.vmap(one)(first, jax.random.split(k_steps, n)) + 1
    return jnp.where(jnp.arange(max_len) < lengths[:, None], seqs, 0).astype(jnp.int32), lengths.astype(jnp.int32)


def random_strings(key, n: int, length: int, vocab: int):
    """(n, length) int32 uniformly random strings over 1..vocab with no adjacent repeats (canaries): a
    uniform first token, then each next one shifted by a uniform 1..vocab-1 (mod vocab)."""
    k0, k1 = jax.random.split(key)
    first = jax.random.randint(k0, (n, 1), 0, vocab)
    steps = jax.random.randint(k1, (n, length - 1), 1, vocab)
    return (jnp.cumsum(jnp.concatenate([first, steps], 1), axis=1) % vocab + 1).astype(jnp.int32)


def render(key, tokens, lengths, protos, max_frames: int, d_min: int, d_max: int, sigma: float):
    """Frames of token strings at normal speed: (frames (n, max_frames, D), n_frames (n,)).

    Token i lasts d_i ~ U{d_min..d_max} frames; frame t of the utterance is p_{token at t} + sigma eps.
    ``max_frames`` must hold max_len * d_max frames (frames past an utterance's end are zero)."""
    n, L = tokens.shape
    if max_frames < L * d_max:
        raise ConfigError(f"max_frames {max_frames} cannot hold {L} tokens of up to {d_max} frames")
    k_dur, k_noise = jax.random.split(key)
    dur = jax.random.randint(k_dur, (n, L), d_min, d_max + 1) * (jnp.arange(L) < lengths[:, None])
    ends = jnp.cumsum(dur, axis=1)  # (n, L)
    t = jnp.arange(max_frames)
    idx = jax.vmap(lambda e: jnp.searchsorted(e, t, side="right"))(ends)  # token index of each frame
    n_frames = ends[:, -1]
    valid = t[None, :] < n_frames[:, None]
    tok = jnp.take_along_axis(tokens, jnp.minimum(idx, L - 1), axis=1)
    noise = sigma * jax.random.normal(k_noise, (n, max_frames, protos.shape[1]))
    frames = (protos[tok] + noise) * valid[..., None]
    return frames, n_frames.astype(jnp.int32)


def sped_up_frames(n_frames, factor: int):
    """Frames after average pooling by ``factor``: ceil(n / factor) (a last partial window is kept)."""
    return -(-n_frames // factor)


def speed_up(frames, n_frames, factor: int = 3, shift: int = 5, gain: float = 1.5):
    """The sped-up renderer: average-pool non-overlapping windows of ``factor`` frames (the mean over the
    valid frames of a last partial window), roll the feature axis by ``shift`` and scale by ``gain``.
    frames (n, T, D) -> (n, ceil(T / factor), D), n_frames -> ceil(n_frames / factor)."""
    n, T, D = frames.shape
    Tp = -(-T // factor)
    padded = jnp.pad(frames, ((0, 0), (0, Tp * factor - T), (0, 0))).reshape(n, Tp, factor, D)
    valid = (jnp.arange(Tp * factor).reshape(Tp, factor)[None] < n_frames[:, None, None]).astype(frames.dtype)
    pooled = (padded * valid[..., None]).sum(2) / jnp.maximum(valid.sum(2), 1.0)[..., None]
    return gain * jnp.roll(pooled, shift, axis=-1), sped_up_frames(n_frames, factor)


def adjacent_repeats(labels, lengths):
    """(n,) number of adjacent equal pairs inside each right-padded label string."""
    L = labels.shape[1]
    inside = jnp.arange(1, L)[None, :] < lengths[:, None]
    return jnp.sum((labels[:, 1:] == labels[:, :-1]) & inside, axis=1)


def ctc_feasible(out_frames, labels, lengths):
    """(n,) bool: a CTC alignment exists, T' >= N + (adjacent repeats) (a blank must separate repeats).
    Infeasible pairs give optax.ctc_loss a huge finite value, not inf (apple/axlearn PR #211)."""
    return out_frames >= lengths + adjacent_repeats(labels, lengths)


def check_canary_feasible(length: int, d_min: int, factor: int, upsample: int) -> None:
    """ConfigError unless the shortest sped-up rendering of a ``length``-token canary (no adjacent repeats,
    every token d_min frames) leaves a CTC alignment: ceil(length d_min / factor) x upsample >= length."""
    frames = math.ceil(length * d_min / factor) * upsample
    if frames < length:
        raise ConfigError(f"a {length}-token canary sped up {factor}x gives as few as {frames} output frames "
                          f"(ceil({length} x {d_min} / {factor}) x {upsample}), fewer than its {length} tokens: no CTC alignment")


def greedy_decode(logits, out_frames):
    """Greedy CTC decoding: argmax per frame, collapse repeats, drop blanks. logits (n, T, V+1), out_frames
    (n,) -> (tokens (n, T) int32 right-padded with 0, lengths (n,))."""
    best = jnp.argmax(logits, -1)
    T = best.shape[1]
    valid = jnp.arange(T)[None, :] < out_frames[:, None]
    prev = jnp.concatenate([jnp.full_like(best[:, :1], -1), best[:, :-1]], 1)
    keep = (best != BLANK) & (best != prev) & valid
    pos = jnp.cumsum(keep, axis=1) - 1
    out = jax.vmap(lambda b, k, p: jnp.zeros(T, jnp.int32).at[jnp.where(k, p, T)].set(b.astype(jnp.int32), mode="drop"))(best, keep, pos)
    return out, keep.sum(1).astype(jnp.int32)


def edit_distance(a, a_len, b, b_len):
    """Levenshtein distance (unit insertion, deletion, substitution) between a[:a_len] and b[:b_len];
    a (La,), b (Lb,) int arrays, lengths traced; one dynamic-programming row per token of a."""
    Lb = b.shape[0]
    j = jnp.arange(Lb + 1)
    row0 = jnp.where(j <= b_len, j, 0)

    def step(row, i_tok):
        i, tok = i_tok
        sub = row[:-1] + (b != tok)
        dele = row[1:] + 1

        def inner(left, k):
            val = jnp.minimum(jnp.minimum(sub[k], dele[k]), left + 1)
            return val, val

        _, rest = jax.lax.scan(inner, i + 1, jnp.arange(Lb))
        new = jnp.concatenate([jnp.array([i + 1]), rest])
        return jnp.where(i < a_len, new, row), None

    final, _ = jax.lax.scan(step, row0, (jnp.arange(a.shape[0]), a))
    return final[b_len]


def token_error_rate(hyp, hyp_len, ref, ref_len):
    """(n,) edit distance / reference length of each pair (TER; 1.0 for an empty hypothesis). The dynamic
    programme runs one row per reference token (references are the short side)."""
    d = jax.vmap(edit_distance)(ref, ref_len, hyp, hyp_len)
    return d / jnp.maximum(ref_len, 1)


def exact_match(hyp, hyp_len, ref, ref_len):
    """(n,) 1.0 where the hypothesis equals the reference (same length, same tokens)."""
    L = min(hyp.shape[1], ref.shape[1])
    mask = jnp.arange(L)[None, :] < ref_len[:, None]
    same = jnp.all((hyp[:, :L] == ref[:, :L]) | ~mask, axis=1) & (hyp_len == ref_len)
    if hyp.shape[1] > L:
        same &= hyp_len <= L
    return same.astype(jnp.float32)
