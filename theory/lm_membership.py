"""Closed forms of the `lm-membership` study: the optimal (likelihood-ratio) membership test for
Gaussian IN / OUT scores, and the counterfactual-memorization estimator with its standard error.

Likelihood-ratio test. LiRA (Carlini et al., arXiv 2112.03570, Sec. IV, Eq. 4) models the logit-scaled
confidence of an example under models trained with it (IN) and without it (OUT) as two Gaussians,
IN ~ N(mu_in, s_in^2) and OUT ~ N(mu_out, s_out^2), and thresholds Lambda = N(phi; IN) / N(phi; OUT).
By the Neyman-Pearson lemma this is the most powerful test at every false-positive rate; its ROC is
  * equal variances (s_in = s_out = s, d = (mu_in - mu_out) / s): the binormal ROC
        TPR(FPR) = Phi(d + Phi^-1(FPR)) = Phi(d - z_{1-FPR}),   AUC = Phi(d / sqrt 2)
    (Green & Swets 1966; the "binormal model" of ROC analysis, e.g. Pepe 2003, Sec. 4.4);
  * unequal variances: log Lambda is a quadratic in phi, large when |phi - c| is large if s_in > s_out
    (small if s_in < s_out), c = (mu_out s_in^2 - mu_in s_out^2) / (s_in^2 - s_out^2); with
    (phi - c)^2 / s^2 a noncentral chi-square with one degree of freedom and noncentrality
    ((mu - c) / s)^2 under each hypothesis, FPR and TPR are its tail probabilities at one threshold
    (the "proper binormal" ROC, Metz & Pan 1999).
AUC of the unequal-variance test: the trapezoid integral of its ROC on a fine FPR grid.

Counterfactual memorization (Zhang et al., arXiv 2112.12938, Sec. 2, Eq. 1):
    mem(x) = E_{S contains x}[M(f_S, x)] - E_{S lacks x}[M(f_S, x)],
estimated from M models on random subsets by the difference of the IN and OUT means of the per-model
score (Sec. 3.1), with the standard error of a difference of two independent means,
sqrt(var_in / n_in + var_out / n_out) (sample variances, ddof 1).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from rote.sims.errors import ConfigError


def check_fpr(fpr) -> np.ndarray:
    """``fpr`` as an array, every value strictly inside (0, 1); ConfigError otherwise."""
    a = np.asarray(fpr, float)
    if not np.all((a > 0) & (a < 1)):
        bad = a[~((a > 0) & (a < 1))].ravel()[0]
        raise ConfigError(f"a false-positive rate must lie in (0, 1), got {bad}")
    return a


def _check_sd(*sds):
    if not all(np.all(np.asarray(s) > 0) for s in sds):
        raise ConfigError(f"standard deviations must be positive, got {sds}")


def binormal_tpr(fpr, mu_in: float, mu_out: float, sd_in: float = 1.0, sd_out: float = 1.0):
    """TPR of the likelihood-ratio test of IN ~ N(mu_in, sd_in^2) against OUT ~ N(mu_out, sd_out^2) at
    false-positive rate ``fpr`` (scalar or array in (0, 1)); the test flags IN, mu_in >= mu_out assumed
    for the equal-variance branch."""
    fpr = check_fpr(fpr)
    _check_sd(sd_in, sd_out)
    if np.isclose(sd_in, sd_out, rtol=1e-12, atol=0.0):
        d = abs(mu_in - mu_out) / sd_out
        return stats.norm.cdf(d + stats.norm.ppf(fpr))
    c = (mu_out * sd_in**2 - mu_in * sd_out**2) / (sd_in**2 - sd_out**2)
    nc_out, nc_in = ((mu_out - c) / sd_out) ** 2, ((mu_in - c) / sd_in) ** 2
    if sd_in > sd_out:  # flag IN when (phi - c)^2 > t
        t = sd_out**2 * stats.ncx2.isf(fpr, 1, nc_out)
        return stats.ncx2.sf(t / sd_in**2, 1, nc_in)
    t = sd_out**2 * stats.ncx2.ppf(fpr, 1, nc_out)  # flag IN when (phi - c)^2 < t
    return stats.ncx2.cdf(t / sd_in**2, 1, nc_in)


def binormal_auc(mu_in: float, mu_out: float, sd_in: float = 1.0, sd_out: float = 1.0, grid: int = 20001) -> float:
    """AUC of the likelihood-ratio test: Phi(d / sqrt 2) for equal variances, else the ROC integrated
    on a log-spaced and linear FPR grid (trapezoid)."""
    _check_sd(sd_in, sd_out)
    if np.isclose(sd_in, sd_out, rtol=1e-12, atol=0.0):
        return float(stats.norm.cdf(abs(mu_in - mu_out) / sd_out / np.sqrt(2.0)))
    fpr = np.unique(np.concatenate([np.logspace(-12, -1, grid // 4), np.linspace(1e-6, 1 - 1e-12, grid)]))
    tpr = binormal_tpr(fpr, mu_in, mu_out, sd_in, sd_out)
    x, y = np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def counterfactual_memorization(scores, keep):
    """mem(x) and its standard error from a score matrix.

    scores (M, N): the per-model score M(f_m, x_n) (e.g. teacher-forced per-token accuracy); keep (M, N)
    bool: x_n was in model m's training subset. Returns (mem (N,), se (N,), n_in (N,), n_out (N,)); an
    example without IN or OUT models gets NaN (and NaN SE with fewer than two of either)."""
    scores = np.asarray(scores, float)
    keep = np.asarray(keep, bool)
    if scores.shape != keep.shape or scores.ndim != 2:
        raise ConfigError(f"scores and keep must be (M, N) arrays of one shape, got {scores.shape} and {keep.shape}")
    n_in, n_out = keep.sum(0), (~keep).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_in = np.where(keep, scores, 0).sum(0) / n_in
        mean_out = np.where(~keep, scores, 0).sum(0) / n_out
        var_in = np.where(keep, (scores - mean_in) ** 2, 0).sum(0) / (n_in - 1)
        var_out = np.where(~keep, (scores - mean_out) ** 2, 0).sum(0) / (n_out - 1)
        se = np.sqrt(var_in / n_in + var_out / n_out)
    se = np.where((n_in > 1) & (n_out > 1), se, np.nan)
    return mean_in - mean_out, se, n_in, n_out
