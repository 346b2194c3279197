"""Statistics the claims and figures of every study share, on scipy.stats."""

from __future__ import annotations

import numpy as np
from scipy import stats


def spearman(x, y) -> float:
    """Spearman rank correlation over the pairs where both are finite (NaN if fewer than 3 remain or
    either side is constant)."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[keep], y[keep]).statistic)


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student t quantile t_{(1 + confidence) / 2, df}, any df >= 1."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def mean_interval(samples, axis: int = -1, confidence: float = 0.95):
    """(mean, half-width) of the t confidence interval of the mean along ``axis``; half-width 0 with one
    sample."""
    samples = np.asarray(samples, float)
    k = samples.shape[axis]
    mean = samples.mean(axis=axis)
    if k < 2:
        return mean, np.zeros_like(mean)
    return mean, t_quantile(k - 1, confidence) * samples.std(axis=axis, ddof=1) / np.sqrt(k)


def rank_fraction(x) -> np.ndarray:
    """0-based ordinal ranks of ``x`` divided by its size, in [0, 1): ties ranked in order of appearance."""
    x = np.asarray(x, float).ravel()
    return (stats.rankdata(x, method="ordinal") - 1) / x.size


def bootstrap_interval(samples, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0):
    """(mean, low, high): the mean of ``samples`` (1-D, e.g. one value per seed; NaNs dropped) and its
    percentile bootstrap interval (Efron and Tibshirani 1993, Ch. 13) from ``n_boot`` resamples with
    replacement drawn by numpy's generator at ``seed``. One sample gives (x, x, x); none gives NaNs."""
    x = np.asarray(samples, float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    if x.size == 1:
        return float(x[0]), float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(1)
    tail = 50.0 * (1.0 - confidence)
    return float(x.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100.0 - tail))
