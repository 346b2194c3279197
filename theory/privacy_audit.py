"""Empirical lower bounds on epsilon from one training run (numpy / scipy).

Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run" (NeurIPS 2023, arXiv
2305.08846). m audit examples ("canaries") are each included in the training set independently with
probability 1/2, S_i in {-1, +1}. After training, an auditor who sees only the output guesses
T_i in {-1, 0, +1} (0: abstain), here "in" for the k+ highest scores and "out" for the k- lowest,
so r = k+ + k- guesses. Let W be the number of correct guesses. If training is (eps, delta)-DP with
respect to each audit example (add or remove one), then (Theorem 3.1 with its delta term, Sec. 3)

    P[W >= v] <= f(v) + 2 m delta max_{1 <= i <= v} (f(v - i) - f(v)) / i,
    f(v) = P[Binomial(r, e^eps / (1 + e^eps)) >= v],

that is, the guesses are no better than eps-DP randomized response, up to delta. Observing v correct
guesses whose p-value under the hypothesis "(eps, delta)-DP" is below 1 - confidence rejects it; the
largest rejected eps is the audited lower bound. A DP implementation whose accountant reports
eps_acc is wrong (or the audit's inclusions were not independent fair coins) if the audited bound
exceeds eps_acc at high confidence.

The bound needs the guesses fixed before the scores are seen (k+ and k- are inputs, not optimized
over the data), and m fair, independent inclusions. With r guesses all correct and delta = 0 the
largest bound the audit can give is logit((1 - confidence)^(1/r)) (``max_auditable``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats


def _check(m: int, r: int, v: int, delta: float, confidence: float | None = None) -> None:
    if not (0 <= v <= r <= m):
        raise ValueError(f"need 0 <= v <= r <= m (correct guesses, guesses, audit examples), got v={v}, r={r}, m={m}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def p_value(m: int, r: int, v: int, eps: float, delta: float = 0.0) -> float:
    """P[W >= v] bound under (eps, delta)-DP (Theorem 3.1): m audit examples, r guesses, v correct."""
    _check(m, r, v, delta)
    q = special.expit(eps)  # accuracy of eps-DP randomized response
    tail = float(stats.binom.sf(v - 1, r, q))  # f(v) = P[Bin(r, q) >= v]
    if delta == 0 or v == 0:
        return min(1.0, tail)
    below = np.cumsum(stats.binom.pmf(np.arange(v - 1, -1, -1), r, q))  # i = 1..v: P[v - i <= Bin < v]
    alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(1.0, tail + 2 * m * delta * alpha)


def epsilon_lower_bound(m: int, r: int, v: int, delta: float = 0.0, confidence: float = 0.95, tol: float = 1e-6) -> float:
    """Largest eps rejected at ``confidence``: sup{eps : p_value(eps) < 1 - confidence}, 0 if none.
    The p-value grows with eps, so bisection finds it to ``tol``."""
    _check(m, r, v, delta, confidence)
    beta = 1.0 - confidence
    if p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    hi = 1.0
    while p_value(m, r, v, hi, delta) < beta:
        hi *= 2.0
        if hi > 1e4:
            return math.inf
    lo = 0.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if p_value(m, r, v, mid, delta) < beta else (lo, mid)
    return lo


def max_auditable(r: int, confidence: float = 0.95) -> float:
    """The bound of r correct guesses out of r at delta = 0: logit((1 - confidence)^(1/r)). No audit with
    r guesses can show more, whatever the mechanism."""
    return float(special.logit((1.0 - confidence) ** (1.0 / r)))


def guesses(scores, k_pos: int, k_neg: int):
    """The auditor's guesses from scores (m,) (higher = more likely included): +1 for the k_pos highest,
    -1 for the k_neg lowest, 0 otherwise; ties broken by position (a stable sort)."""
    scores = np.asarray(scores, float)
    m = scores.size
    if k_pos < 0 or k_neg < 0 or k_pos + k_neg > m:
        raise ValueError(f"need k_pos, k_neg >= 0 and k_pos + k_neg <= m = {m}, got {k_pos}, {k_neg}")
    order = np.argsort(-scores, kind="stable")
    out = np.zeros(m, int)
    out[order[:k_pos]] = 1
    out[order[m - k_neg :]] = -1
    return out


def one_run_audit(scores, included, k_pos: int, k_neg: int, delta: float = 0.0, confidence: float = 0.95) -> dict:
    """The audit of one run: scores (m,) (e.g. a canary's exposure), included (m,) bool (the coins).
    Returns {'epsilon': lower bound, 'guesses': r, 'correct': v, 'm': m}."""
    included = np.asarray(included, bool)
    t = guesses(scores, k_pos, k_neg)
    made = t != 0
    correct = int(np.sum(made & ((t > 0) == included)))
    m, r = included.size, int(made.sum())
    return {"epsilon": epsilon_lower_bound(m, r, correct, delta, confidence), "guesses": r, "correct": correct, "m": m}
