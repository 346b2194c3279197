"""Closed forms of entity-level memorization: chance rates, the entity-exposure null, the ambiguity
ceiling and the prompt cost of equal success (numpy / scipy; no training).

Zhou, Xiang, Chen, Su, "Quantifying and Analyzing Entity-level Memorization in Large Language Models"
(arXiv 2308.15727, Sec. 3): a target entity e_t of a training sample is memorized under a query set Q
of the sample's other entities if the model's greedy output contains e_t; Q must identify the sample
uniquely. Our graded additions, in the spirit of Carlini et al. ("The Secret Sharer", arXiv
1802.08232, Sec. 4):

* Entity exposure. Rank the true value among K decoys of the same type (random 5-digit phones) by
  the model's log-perplexity given the query, ties against the target:
      exposure = log2(K + 1) - log2 rank,   rank in {1, ..., K + 1}.
  For a person never trained on, the true value is exchangeable with the decoys, so the rank is
  uniform and the expected exposure is log2 n - log2(n!) / n with n = K + 1 (-> log2 e = 1.44 bits;
  1.4370 at K = 999, ``rote.theory.exposure.expected_null_exposure``); its standard deviation tends
  to log2 e bits (the exponential limit of -ln U), so a mean over m persons has SE about log2 e / sqrt(m).
* Chance. Greedy decoding of d uniformly random digits without memory matches exactly with
  probability 10^-d (1e-5 for a phone) and per digit 1/10.
* Ambiguity ceiling. If Q matches m training samples (m >= 2) the model cannot tell which sample is
  asked for: the m queries are the same prompt, greedy decoding emits one output for all of them, and
  that output equals at most one of the m (distinct) phones, so the group's exact-match rate is at
  most 1 / m (reached when it emits one candidate's phone).
* Equal success. The prompt tokens an extraction needs for a success rate s: the smallest prompt length
  whose measured rate reaches s (``tokens_for_rate``), compared between entity queries and verbatim
  training prefixes (Carlini et al., arXiv 2202.07646, extractability with k tokens of context).
"""

from __future__ import annotations

import numpy as np

from .exposure import NULL_EXPOSURE, expected_null_exposure, ranks

PHONE_DIGITS = 5


def chance_exact(n_digits: int = PHONE_DIGITS) -> float:
    """Exact-match probability of a memoryless guess of n uniformly random digits: 10^-n."""
    return 10.0 ** (-n_digits)


def chance_digit() -> float:
    """Per-digit accuracy of a memoryless guess: 1/10."""
    return 0.1


def null_entity_exposure(decoys: int) -> float:
    """Expected entity exposure of a never-trained value among K decoys (uniform rank on K + 1), bits."""
    if decoys < 1:
        raise ValueError(f"needs at least one decoy, got K = {decoys}")
    return float(expected_null_exposure(decoys + 1))


def null_exposure_sd(decoys: int) -> float:
    """Standard deviation of the entity exposure of a uniform rank on {1, ..., K + 1}, bits (exact)."""
    n = decoys + 1
    e = np.log2(n) - np.log2(np.arange(1, n + 1))
    return float(e.std())


def entity_exposure(target_px, decoy_px):
    """log2(K + 1) - log2 rank of each target among its decoys: target_px (...,), decoy_px (..., K) bits
    (lower = more likely) -> (...,) bits; rank = 1 + #{decoys with Px <= target}."""
    target_px, decoy_px = np.asarray(target_px, float), np.asarray(decoy_px, float)
    K = decoy_px.shape[-1]
    rank = 1 + (decoy_px <= target_px[..., None]).sum(-1)
    return np.log2(K + 1) - np.log2(rank)


def ambiguity_ceiling(matches):
    """Expected exact-match ceiling 1 / m of a query matching m >= 1 samples (1 for a unique query)."""
    m = np.asarray(matches, float)
    if np.any(m < 1):
        raise ValueError("a query matches at least its own sample")
    return 1.0 / m


def tokens_for_rate(lengths, rates, target: float):
    """The smallest prompt length whose success rate reaches ``target``, from measured (lengths, rates)
    sorted by length; inf if none does."""
    lengths, rates = np.asarray(lengths, float), np.asarray(rates, float)
    order = np.argsort(lengths)
    hit = np.nonzero(rates[order] >= target)[0]
    return float(lengths[order][hit[0]]) if hit.size else float("inf")


def matches_reference(key_first, key_last, city, employer, present=None):
    """(3, P) counts of persons sharing p's key, key + city, key + city + employer (p itself and every
    other present person): the numpy reference of ``rote.sims.records.matches``."""
    cols = [np.asarray(c) for c in (key_first, key_last, city, employer)]
    P = cols[0].shape[0]
    present = np.ones(P, bool) if present is None else np.asarray(present, bool)
    out = np.zeros((3, P), np.int32)
    for p in range(P):
        for level, used in enumerate((2, 3, 4)):
            same = np.all([c == c[p] for c in cols[:used]], axis=0)
            out[level, p] = (same & (present | (np.arange(P) == p))).sum()
    return out


__all__ = ["NULL_EXPOSURE", "ranks", "chance_exact", "chance_digit", "null_entity_exposure", "null_exposure_sd",
           "entity_exposure", "ambiguity_ceiling", "tokens_for_rate", "matches_reference"]
