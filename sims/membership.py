"""Membership-inference attacks as pure functions over a shadow-model score matrix (numpy, no JAX).

M models each trained on a random subset of a pool of N sequences (``keep`` (M, N) bool) have scored
every sequence token by token. Every attack below re-reads those arrays; none trains a model. Each
model in turn is the target and the other M - 1 are its shadow (reference) models; the attack's scores
(M, N) (higher: more likely a member) are pooled over all M x N (model, sequence) pairs against the
labels ``keep`` (Carlini et al., arXiv 2112.03570, Sec. V: "each model in turn the target").

Attacks (the survey of Hartmann et al., arXiv 2310.18362, Sec. 3 lists them):
  loss        Yeom et al. (arXiv 1709.01604, Sec. 3): the mean token log-probability (minus the loss).
  zlib        Carlini et al. (arXiv 2012.07805, Sec. 5.2): loss divided by the zlib-compressed length of the
              sequence's bytes (low perplexity relative to compressibility flags a member).
  min_k       Min-K% Prob (Shi et al., arXiv 2310.16789, Sec. 3, Eq. 1): the mean log-probability of the
              k % least likely tokens.
  min_k_pp    Min-K%++ (Zhang et al., arXiv 2404.02936, Eq. 2): each token's log-probability standardized
              by the mean and SD of log p(z) under the model's next-token distribution, then Min-K%.
  reference   Carlini et al. (arXiv 2012.07805, Sec. 5.2, "comparing to other neural LMs"): the target's
              mean log-probability minus that of one reference model (the next model in index order,
              trained on its own random half, a member or not of x like any other model).
  lira_*      LiRA (Carlini et al., arXiv 2112.03570, Sec. IV, Alg. 1): per sequence, Gaussians fitted to
              the logit-scaled confidence phi of the shadow models that kept it (IN) and that did not
              (OUT); online = log N(phi; IN) - log N(phi; OUT); offline = log Pr_OUT[Z <= phi] (the one-sided
              test of Sec. IV.D); fixed variance = one global SD per target (the median over sequences of
              the per-sequence SDs, as in the reference code), for few shadow models (Sec. VI.B).
  rmia        RMIA (Zarifzadeh et al., arXiv 2312.03262, Sec. 3, Eq. 5-7): LR(x, z) = [P(x|f) / P(x)] /
              [P(z|f) / P(z)], P(.) the mean likelihood over the reference (shadow) models, population z =
              the other pool sequences, score = the fraction of z with LR(x, z) > gamma = 1.

Shapes: logprob, log_rest, mu, sigma (M, N, T) per token (token 0 unscored, holding 0); tokens (N, T).
Metrics: AUC (``sklearn.metrics.roc_auc_score``) and TPR at a false-positive rate read from the ROC
(the largest TPR whose FPR does not exceed it, as in the LiRA reference code).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from ..theory.lm_membership import check_fpr
from .errors import ConfigError

MIN_MODELS = 2


@dataclass(frozen=True)
class ScoreMatrix:
    """Per-token scores of M models on N sequences and the keep mask (see the module docstring)."""

    logprob: np.ndarray
    log_rest: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    keep: np.ndarray
    tokens: np.ndarray

    def __post_init__(self):
        M, N = np.shape(self.keep)
        if M < MIN_MODELS:
            raise ConfigError(f"membership attacks need at least {MIN_MODELS} shadow models (one target, one shadow), got M = {M}")
        for name in ("logprob", "log_rest", "mu", "sigma"):
            if np.shape(getattr(self, name))[:2] != (M, N):
                raise ConfigError(f"{name} must be (M, N, T) = ({M}, {N}, T), got {np.shape(getattr(self, name))}")

    @property
    def scored(self) -> np.ndarray:
        """(T,) bool: tokens with a prediction (all but token 0)."""
        return np.arange(self.logprob.shape[-1]) >= 1

    def subset(self, models) -> "ScoreMatrix":
        """The same pool scored by the models ``models`` only (index array or slice)."""
        return ScoreMatrix(self.logprob[models], self.log_rest[models], self.mu[models], self.sigma[models],
                           self.keep[models], self.tokens)


def mean_logprob(sm: ScoreMatrix) -> np.ndarray:
    """(M, N) mean log-probability of the scored tokens (minus the loss, nats)."""
    return sm.logprob[..., sm.scored].mean(-1)


def logit_confidence(sm: ScoreMatrix) -> np.ndarray:
    """(M, N) phi: the mean over scored tokens of log p - log(1 - p), each computed as log p(y) - log
    sum_{y' != y} p(y') (the stable form of LiRA's reference code, arXiv 2112.03570, Sec. IV.B)."""
    return (sm.logprob - sm.log_rest)[..., sm.scored].mean(-1)


def zlib_length(tokens) -> np.ndarray:
    """(N,) zlib-compressed length in bytes of each sequence (its tokens as bytes, vocab <= 256)."""
    tokens = np.asarray(tokens)
    return np.array([len(zlib.compress(row.astype(np.uint8).tobytes())) for row in tokens], float)


def loss_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    return mean_logprob(sm)


def zlib_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    return mean_logprob(sm) / zlib_length(sm.tokens)[None, :]


def _lowest_mean(values, k: float) -> np.ndarray:
    """Mean of the ceil(k T) smallest entries along the last axis."""
    if not 0 < k <= 1:
        raise ConfigError(f"k of Min-K% must lie in (0, 1], got {k}")
    n = max(1, int(np.ceil(k * values.shape[-1])))
    return np.sort(values, axis=-1)[..., :n].mean(-1)


def min_k_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    return _lowest_mean(sm.logprob[..., sm.scored], k)


def min_k_pp_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    z = (sm.logprob - sm.mu) / np.maximum(sm.sigma, 1e-6)
    return _lowest_mean(z[..., sm.scored], k)


def reference_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    lp = mean_logprob(sm)
    return lp - np.roll(lp, -1, axis=0)


def _loo_gaussians(phi, keep):
    """Leave-one-out Gaussian fits: for each target m and sequence n, mean and SD of phi over the other
    models that kept n (IN) and that did not (OUT). Returns mean_in, sd_in, mean_out, sd_out (M, N);
    NaN where a side has fewer than one (mean) or two (SD) models."""
    phi, keep = np.asarray(phi, float), np.asarray(keep, bool)
    out = []
    for side in (keep, ~keep):
        n_all = side.sum(0)
        s1, s2 = np.where(side, phi, 0).sum(0), np.where(side, phi**2, 0).sum(0)
        n = n_all[None, :] - side
        t1 = s1[None, :] - np.where(side, phi, 0)
        t2 = s2[None, :] - np.where(side, phi**2, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = t1 / n
            var = (t2 - n * mean**2) / (n - 1)
        out += [np.where(n >= 1, mean, np.nan), np.where(n >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)]
    return out


def _nanmedian(a):
    """Median over axis 1 ignoring NaN, (M, 1); 1.0 for an all-NaN row (no shadow fit at all)."""
    a = np.asarray(a, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(a, axis=1, keepdims=True)
    return np.where(np.isnan(med), 1.0, med)


def _global_sd(sd):
    """(M, 1): per target, the median over sequences of the per-sequence SDs (the reference code's fixed variance)."""
    return _nanmedian(sd)


def _fill(scores):
    """NaN scores (a sequence without IN or OUT shadows) become the target's median score (0 where the
    target has none): no evidence either way."""
    scores = np.asarray(scores, float)
    med = np.where(np.all(np.isnan(scores), axis=1, keepdims=True), 0.0, _nanmedian(scores))
    return np.where(np.isnan(scores), med, scores)


def lira_online(phi, keep, fixed_variance: bool = False) -> np.ndarray:
    """(M, N) log N(phi; mu_in, sd_in) - log N(phi; mu_out, sd_out) with leave-one-out shadow fits."""
    mu_in, sd_in, mu_out, sd_out = _loo_gaussians(phi, keep)
    if fixed_variance:
        sd_in, sd_out = np.broadcast_to(_global_sd(sd_in), sd_in.shape), np.broadcast_to(_global_sd(sd_out), sd_out.shape)
    else:  # a side with one model has no SD: use the global one there
        sd_in, sd_out = np.where(np.isnan(sd_in), _global_sd(sd_in), sd_in), np.where(np.isnan(sd_out), _global_sd(sd_out), sd_out)
    sd_in, sd_out = np.maximum(sd_in, 1e-6), np.maximum(sd_out, 1e-6)
    return _fill(stats.norm.logpdf(phi, mu_in, sd_in) - stats.norm.logpdf(phi, mu_out, sd_out))


def lira_offline(phi, keep, fixed_variance: bool = False) -> np.ndarray:
    """(M, N) log Pr[Z <= phi], Z ~ N(mu_out, sd_out^2) from the OUT shadows only (one-sided test)."""
    _, _, mu_out, sd_out = _loo_gaussians(phi, keep)
    sd_out = np.broadcast_to(_global_sd(sd_out), sd_out.shape) if fixed_variance else np.where(np.isnan(sd_out), _global_sd(sd_out), sd_out)
    return _fill(stats.norm.logcdf(phi, mu_out, np.maximum(sd_out, 1e-6)))


def rmia(loglik, gamma: float = 1.0) -> np.ndarray:
    """(M, N) RMIA score: for target m, P(x) = mean over the other models of exp(loglik) (log-sum-exp),
    ratio(x) = loglik(m, x) - log P(x), score(x) = fraction of the other pool sequences z with
    ratio(x) - ratio(z) > log gamma."""
    loglik = np.asarray(loglik, float)
    M, N = loglik.shape
    total = np.logaddexp.reduce(loglik, axis=0)
    with np.errstate(divide="ignore"):
        others = np.log(-np.expm1(loglik - total[None, :])) + total[None, :]  # log sum over m' != m
    ratio = loglik - (others - np.log(M - 1))
    shifted = np.sort(ratio, axis=1)
    below = np.stack([np.searchsorted(shifted[m], ratio[m] - np.log(gamma), side="left") for m in range(M)])
    return below / (N - 1)


def rmia_attack(sm: ScoreMatrix, k: float = 0.2) -> np.ndarray:
    return rmia(sm.logprob[..., sm.scored].sum(-1))


def _lira(variant: str, fixed: bool):
    fn = lira_online if variant == "online" else lira_offline
    return lambda sm, k=0.2: fn(logit_confidence(sm), sm.keep, fixed)


ATTACKS = {
    "loss": loss_attack,
    "zlib": zlib_attack,
    "min_k": min_k_attack,
    "min_k_pp": min_k_pp_attack,
    "reference": reference_attack,
    "lira_online": _lira("online", False),
    "lira_online_fixed": _lira("online", True),
    "lira_offline": _lira("offline", False),
    "lira_offline_fixed": _lira("offline", True),
    "rmia": rmia_attack,
}


def roc(scores, keep, columns=None):
    """Pooled ROC (fpr, tpr) of scores (M, N) against labels keep (M, N), over the sequences ``columns``
    ((N,) bool, default all)."""
    scores, keep = np.asarray(scores, float), np.asarray(keep, bool)
    if columns is not None:
        scores, keep = scores[:, columns], keep[:, columns]
    y, s = keep.ravel(), scores.ravel()
    if y.all() or not y.any():
        raise ConfigError("the ROC needs both members and non-members among the scored pairs")
    fpr, tpr, _ = roc_curve(y, s)
    return fpr, tpr


def tpr_at(fpr, tpr, target) -> np.ndarray:
    """The largest TPR whose FPR is at most ``target`` (scalar or array in (0, 1))."""
    target = check_fpr(target)
    idx = np.searchsorted(fpr, target, side="right") - 1
    return np.asarray(tpr)[np.clip(idx, 0, None)]


def auc(scores, keep, columns=None) -> float:
    scores, keep = np.asarray(scores, float), np.asarray(keep, bool)
    if columns is not None:
        scores, keep = scores[:, columns], keep[:, columns]
    return float(roc_auc_score(keep.ravel(), scores.ravel()))


def evaluate(sm: ScoreMatrix, fprs=(0.01, 0.001), k: float = 0.2, columns=None, attacks=None) -> dict[str, dict]:
    """{attack: {'auc': float, 'tpr': (len(fprs),) array, 'fpr_curve', 'tpr_curve'}} for every attack
    (or the named ones) on the score matrix, pooled over its models and the sequences ``columns``."""
    fprs = check_fpr(fprs)
    out = {}
    for name in attacks or ATTACKS:
        s = ATTACKS[name](sm, k)
        f, t = roc(s, sm.keep, columns)
        out[name] = {"auc": auc(s, sm.keep, columns), "tpr": tpr_at(f, t, fprs), "fpr_curve": f, "tpr_curve": t}
    return out
