"""Exposure of canaries, its null value, extractability and the memorization score (numpy / scipy).

Exposure (Carlini, Liu, Erlingsson, Kos, Song, "The Secret Sharer", arXiv 1802.08232, Sec. 4).
A canary s[r] is a template with a secret r from a space R. With log-perplexity
Px(x) = -sum_i log2 p(x_i | x_<i) (bits, summed over the secret's tokens),

    rank(s[r])     = |{r' in R : Px(s[r']) <= Px(s[r])}|           (ties count against the canary)
    exposure(s[r]) = log2 |R| - log2 rank(s[r])                     in [0, log2 |R|] bits.

Three ways to get it, from exact to cheap (Sec. 4.2-4.3):
  * ``exposure_exact``: enumerate R, rank among all |R| candidates.
  * ``exposure_interpolated``: rank among n reference secrets that were never inserted; the canary
    joins them, log2(n + 1) - log2(1 + #{references <= canary}). With the references equal to
    R without the canary it is the exact value. (tensorflow_privacy's ``secret_sharer`` divides by
    n instead of n + 1: a difference of log2(1 + 1/n) bits.)
  * ``exposure_extrapolated``: fit a skew-normal (scipy.stats.skewnorm) to the references'
    log-perplexities and read -log2 CDF(Px(canary)); this is not capped at log2 |R|.

Null value. A secret that was never inserted is exchangeable with every other secret, so its rank
is uniform on {1, ..., n} (n = |R|) and its expected exposure is
    E = log2 n - (1/n) sum_k log2 k = log2 n - log2(n!) / n = log2 e - log2(2 pi n) / (2 n) + O(1/n^2)
(Stirling): log2 e = 1.4427 bits as n grows (``expected_null_exposure``; equivalently, with
U = rank / n ~ uniform on (0, 1], -ln U ~ Exp(1) has mean 1 nat = log2 e bits and standard
deviation log2 e bits too).

Extractability (Carlini et al., "Quantifying Memorization Across Neural Language Models", arXiv
2202.07646): a training string s = p || x with |p| = k is extractable with k tokens of context if
greedy decoding from p emits x. The memorization score of Biderman et al. ("Emergent and Predictable
Memorization in Large Language Models", arXiv 2304.11158) is the fraction of the suffix's tokens
that greedy decoding reproduces (the paper scores a 32-token suffix after a 32-token prefix);
score 1 is extractable. Both are definitions over token arrays, independent of any model.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

NULL_EXPOSURE = float(np.log2(np.e))  # bits: the expected exposure of a never-inserted canary, |R| -> inf


def log_perplexity(log_probs, mask=None):
    """Px = -sum log2 p over the last axis: natural-log token probabilities (..., T), optional mask
    (..., T) selecting the secret's tokens -> (...,) bits."""
    lp = np.asarray(log_probs, float)
    if mask is not None:
        lp = np.where(np.asarray(mask, bool), lp, 0.0)
    return -lp.sum(-1) / np.log(2.0)


def ranks(canary_px, candidate_px):
    """rank = |{candidates with Px <= Px(canary)}|: canary_px (...,), candidate_px (n,) -> (...,) int."""
    return np.searchsorted(np.sort(np.asarray(candidate_px, float)), np.asarray(canary_px, float), side="right")


def exposure_from_rank(rank, space_size):
    """log2 |R| - log2 rank, bits; rank in [1, |R|]."""
    rank = np.asarray(rank)
    if np.any(rank < 1) or np.any(rank > space_size):
        raise ValueError(f"ranks must lie in [1, {space_size}], got {rank.min()}..{rank.max()}")
    return np.log2(space_size) - np.log2(rank)


def exposure_exact(space_px, canary_index):
    """Exact exposure by enumeration: space_px (|R|,) log-perplexities of every secret (in the
    enumeration order of R), canary_index (...,) the inserted secrets' positions in it -> (...,) bits.
    Indexing the canary inside the enumeration (rather than scoring it separately) makes its own
    candidate count in its rank whatever the rounding of separate forward passes."""
    space_px = np.asarray(space_px, float)
    idx = np.asarray(canary_index)
    if np.any(idx < 0) or np.any(idx >= space_px.size):
        raise ValueError(f"canary indices must lie in [0, {space_px.size}), the enumerated space")
    return exposure_from_rank(ranks(space_px[idx], space_px), space_px.size)


def exposure_interpolated(canary_px, reference_px):
    """Exposure from the rank among n never-inserted references (Sec. 4.3): canary_px (...,), reference_px
    (n,) -> (...,) bits, log2(n + 1) - log2(1 + #{references with Px <= Px(canary)}), in [0, log2(n + 1)]."""
    n = np.asarray(reference_px).size
    return np.log2(n + 1) - np.log2(1 + ranks(canary_px, reference_px))


def skewnorm_fit(reference_px):
    """Maximum-likelihood skew-normal (shape a, loc, scale) of the references' log-perplexities (n,)."""
    return stats.skewnorm.fit(np.asarray(reference_px, float))


def exposure_from_fit(canary_px, fit):
    """-log2 CDF(Px(canary)) under a fitted skew-normal ``fit`` = (a, loc, scale): (...,) -> (...,) bits."""
    return -stats.skewnorm.logcdf(np.asarray(canary_px, float), *fit) / np.log(2.0)


def exposure_extrapolated(canary_px, reference_px):
    """Exposure by extrapolation (Sec. 4.3): skew-normal fit of reference_px (n,), then
    ``exposure_from_fit``; canary_px (...,) -> (...,) bits (not capped at log2 |R|)."""
    return exposure_from_fit(canary_px, skewnorm_fit(reference_px))


def expected_null_exposure(space_size):
    """Expected exposure of a uniformly random rank on {1, ..., n}: log2 n - log2(n!) / n, bits
    (-> log2 e as n grows; 1.4419 for n = 10^4)."""
    n = np.asarray(space_size, float)
    return np.log2(n) - special.gammaln(n + 1) / (n * np.log(2.0))


def agree(exact, estimate, tolerance=1.0, below=10.0):
    """The check of exact against an estimate: |exact - estimate| <= tolerance bits wherever the exact
    exposure is below ``below`` (beyond it the enumeration saturates at log2 |R|). Returns bool."""
    exact, estimate = np.asarray(exact, float), np.asarray(estimate, float)
    where = exact < below
    return bool(np.all(np.abs(exact[where] - estimate[where]) <= tolerance))


def _split(generated, target, k: int):
    generated, target = np.asarray(generated), np.asarray(target)
    if generated.shape != target.shape:
        raise ValueError(f"generated {generated.shape} and target {target.shape} must have the same shape")
    if not 0 <= k < target.shape[-1]:
        raise ValueError(f"the prefix length k must lie in [0, {target.shape[-1]}), got {k}")
    if np.any(generated[..., :k] != target[..., :k]):
        raise ValueError("the generated sequences do not start with the target's k-token prefix (not prompted with the true prefix)")
    return generated[..., k:] == target[..., k:]


def extractable(generated, target, k: int):
    """Extractable with k tokens of context (arXiv 2202.07646): generated (..., L) is the greedy
    continuation of target[..., :k]; True where it reproduces target[..., k:] exactly. -> (...,) bool."""
    return _split(generated, target, k).all(-1)


def memorization_score(generated, target, k: int):
    """Pythia-style memorization score (arXiv 2304.11158): fraction of the suffix target[..., k:] that
    the greedy continuation reproduces position by position. -> (...,) float in [0, 1]."""
    return _split(generated, target, k).mean(-1)
