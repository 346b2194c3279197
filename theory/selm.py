"""Closed forms of the `selm` study (numpy / scipy; no training).

* The Walsh-Hadamard matrix (Sylvester's construction) and the explicit Fastfood matrix
  P = H[:D] G Pi H B[:, :d] / sqrt(D sum g^2) (Le, Sarlos, Smola, ICML 2013; the subspace of Li et al.,
  arXiv 1804.08838, Sec. 2, and of SELM, Stevens and Su, arXiv 2305.10445, Sec. 3.1), against which the
  fast butterflies of ``rote.sims.fastfood`` are tested.
* The empirical IND-CPA game's decision (Stevens and Su, arXiv 2305.10445, Sec. 5.2): the exact one-sided
  binomial test of an attacker's test accuracy against chance p = 1/2, the smallest accuracy that wins
  at level alpha, and Holm's step-down correction (Holm 1979) across attacker x message-pair cells, which
  controls the family-wise error rate without independence.
"""

from __future__ import annotations

import math

import numpy as np


def hadamard(n: int) -> np.ndarray:
    """(n, n) unnormalised Walsh-Hadamard matrix, n a power of two: H_1 = [1], H_2n = [[H, H], [H, -H]]."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"n must be a power of two, got {n}")
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def fastfood_dense(b, perm, g, d: int, D: int) -> np.ndarray:
    """(D, d) matrix of the normalised Fastfood projection: rows :D of H diag(g) Pi H diag(b), columns :d,
    divided by sqrt(D sum g^2); (Pi v)_i = v[perm[i]]."""
    b, perm, g = np.asarray(b, float), np.asarray(perm), np.asarray(g, float)
    LL = b.shape[0]
    H = hadamard(LL)
    Pi = np.zeros((LL, LL))
    Pi[np.arange(LL), perm] = 1.0
    full = H @ np.diag(g) @ Pi @ H @ np.diag(b)
    return full[:D, :d] / math.sqrt(D * np.sum(g**2))


def binomial_pvalue(correct: int, n: int, p: float = 0.5) -> float:
    """Exact one-sided P(X >= correct) for X ~ Binomial(n, p): the p-value of "accuracy above chance"."""
    if not 0 <= correct <= n:
        raise ValueError(f"correct must lie in [0, {n}], got {correct}")
    return float(sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(int(correct), n + 1)))


def win_accuracy(n: int, alpha: float = 0.05) -> float:
    """The smallest test accuracy k / n whose one-sided binomial p-value is <= alpha (1.0 + 1/n if none)."""
    for k in range(n + 1):
        if binomial_pvalue(k, n) <= alpha:
            return k / n
    return 1.0 + 1.0 / n


def holm(pvalues, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down rejections (bool, same shape): sort the m p-values, reject while
    p_(i) <= alpha / (m - i) (i = 0, 1, ...), stop at the first that is not."""
    p = np.asarray(pvalues, float)
    flat = p.ravel()
    order = np.argsort(flat, kind="stable")
    m = flat.size
    reject = np.zeros(m, bool)
    for i, j in enumerate(order):
        if not flat[j] <= alpha / (m - i):
            break
        reject[j] = True
    return reject.reshape(p.shape)


def holm_adjusted(pvalues) -> np.ndarray:
    """Holm-adjusted p-values: max over earlier sorted ranks of min(1, (m - i) p_(i)); reject where <= alpha."""
    p = np.asarray(pvalues, float)
    flat = p.ravel()
    order = np.argsort(flat, kind="stable")
    m = flat.size
    adj = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * flat[j]))
        adj[j] = running
    return adj.reshape(p.shape)
