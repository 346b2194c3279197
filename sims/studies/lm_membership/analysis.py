"""Summaries of `lm-membership` results (xarray, numpy, scipy, scikit-learn; no JAX).

A results file holds, for each shadow model (the ``seed`` axis) and each pool sequence, the per-token
scores and the keep mask (run.py). From them:
  * counterfactual memorization mem(x) of every sequence with its standard error (Zhang et al., arXiv
    2112.12938, Eq. 1; ``rote.theory.lm_membership.counterfactual_memorization``), on the teacher-forced
    per-token accuracy, and its means by kind (rare, common, markov);
  * every membership attack of ``rote.sims.membership`` (each model in turn the target, the others its
    shadows), as AUC and TPR at the configured false-positive rates, over all sequences or a subset, and
    with the first m models only (TPR vs the number of shadow models).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from ....theory.lm_membership import counterfactual_memorization
from ... import membership as mia
from ...dataset import annotate
from ...errors import ConfigError
from .params import KINDS, MembershipParams, layout

SCORE_VARIABLES = ("token_logprob", "token_log_rest", "token_correct", "token_mu", "token_sigma", "keep", "tokens")
MODEL_AXIS = "seed"

VARIABLES = {
    "seed": ("1", "shadow model (its seed: keep mask, initialization and batches)"),
    "sequence": ("1", "pool sequence (index: rare, then common by family, then Markov)"),
    "position": ("1", "token position in the sequence"),
    "kind": ("1", "kind of the sequence: 0 rare (random), 1 common (templated), 2 Markov"),
    "family": ("1", "template family of a common sequence (-1 otherwise)"),
    "copies": ("1", "multiplicity of the sequence in a training set that keeps it (before deduplication)"),
    "tokens": ("1", "token ids of the pool sequence"),
    "token_logprob": ("1", "log-probability of the true token given the previous ones (nats; 0 at position 0)"),
    "token_log_rest": ("1", "log of the total probability of every other token (nats; log(1 - p))"),
    "token_correct": ("1", "teacher-forced argmax prediction equals the token (0/1)"),
    "token_mu": ("1", "mean of log p(z) over the model's next-token distribution (nats)"),
    "token_sigma": ("1", "standard deviation of log p(z) over the model's next-token distribution (nats)"),
    "keep": ("1", "the shadow model trained on the sequence (keep mask, 0/1)"),
    "multiplicity": ("1", "copies of the sequence in the model's training set (after deduplication)"),
    "train_loss": ("1", "mean training loss over the last tenth of the steps (nats per token)"),
    "kept_fraction": ("1", "fraction of the pool the model trained on"),
    "accuracy": ("1", "teacher-forced per-token accuracy of the model on the sequence"),
    "phi": ("1", "logit-scaled confidence: mean over tokens of log p - log(1 - p)"),
    "diverged": ("1", "the config produced a non-finite training loss"),
}


def params_of(ds: xr.Dataset) -> MembershipParams:
    """The base parameters a results file was swept with."""
    try:
        base = json.loads(ds.attrs["config"])["base"]
        return MembershipParams(**{k: v for k, v in base.items() if k in MembershipParams.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"results hold no lm-membership configuration ({type(exc).__name__}: {exc})") from None


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add the pool's layout (kind, family, copies) as sequence coordinates, per-model accuracy and phi."""
    p = params_of(ds)
    lay = layout(p)
    ds = ds.assign_coords(kind=("sequence", lay["kind"]), family=("sequence", lay["family"]), copies=("sequence", lay["copies"]))
    scored = ds["position"] >= 1
    ds["accuracy"] = ds["token_correct"].where(scored).mean("position")
    ds["phi"] = (ds["token_logprob"] - ds["token_log_rest"]).where(scored).mean("position")
    return annotate(ds, VARIABLES)


def _models(ds: xr.Dataset) -> xr.Dataset:
    """The results with the models on one leading axis (every other config axis must be a single value)."""
    if "token_logprob" not in ds or MODEL_AXIS not in ds["token_logprob"].dims:
        raise ConfigError("results hold no score matrix (token_logprob over seed x sequence x position); re-run `rote sweep lm-membership`")
    extra = [d for d in ds["token_logprob"].dims if d not in (MODEL_AXIS, "sequence", "position")]
    if any(ds.sizes[d] != 1 for d in extra):
        raise ConfigError(f"the score matrix must vary over the shadow models ({MODEL_AXIS}) only, got axes {extra}")
    return ds.isel({d: 0 for d in extra})


def score_matrix(ds: xr.Dataset, models: int | None = None) -> mia.ScoreMatrix:
    """The ScoreMatrix of a results Dataset (first ``models`` models if given); ConfigError when the file
    lacks the score matrix or holds fewer than two models."""
    missing = [v for v in SCORE_VARIABLES if v not in ds]
    if missing:
        raise ConfigError(f"results hold no score matrix: missing {', '.join(missing)}; re-run `rote sweep lm-membership`")
    ds = _models(ds)
    if models is not None:
        ds = ds.isel({MODEL_AXIS: slice(0, models)})
    get = lambda v: np.asarray(ds[v].transpose(MODEL_AXIS, "sequence", "position").values, float)  # noqa: E731
    tokens = np.asarray(ds["tokens"].transpose(MODEL_AXIS, "sequence", "position").values)[0]
    keep = np.asarray(ds["keep"].transpose(MODEL_AXIS, "sequence").values) > 0.5
    return mia.ScoreMatrix(get("token_logprob"), get("token_log_rest"), get("token_mu"), get("token_sigma"), keep, tokens)


def memorization(ds: xr.Dataset) -> xr.Dataset:
    """Per sequence: mem(x) on per-token accuracy, its SE, n_in / n_out, and the mean IN accuracy."""
    one = _models(ds)
    acc = one["accuracy"].transpose(MODEL_AXIS, "sequence").values
    keep = one["keep"].transpose(MODEL_AXIS, "sequence").values > 0.5
    if keep.shape[0] < mia.MIN_MODELS:
        raise ConfigError(f"counterfactual memorization needs at least {mia.MIN_MODELS} models, got {keep.shape[0]}")
    mem, se, n_in, n_out = counterfactual_memorization(acc, keep)
    with np.errstate(invalid="ignore"):
        acc_in = np.where(keep, acc, 0).sum(0) / n_in
    out = xr.Dataset({"mem": ("sequence", mem), "mem_se": ("sequence", se), "n_in": ("sequence", n_in),
                      "n_out": ("sequence", n_out), "accuracy_in": ("sequence", acc_in)},
                     coords={"sequence": one["sequence"].values, "kind": ("sequence", one["kind"].values),
                             "family": ("sequence", one["family"].values)})
    return out


def mean_by_kind(mem: xr.Dataset, var: str = "mem") -> dict[str, float]:
    """{kind: mean of ``var`` over that kind's sequences} (NaN-skipping)."""
    return {name: float(np.nanmean(mem[var].values[mem["kind"].values == i])) if (mem["kind"].values == i).any() else float("nan")
            for i, name in enumerate(KINDS)}


def attack_table(ds: xr.Dataset, columns=None, models: int | None = None, attacks=None) -> xr.Dataset:
    """AUC (attack,) and TPR (attack, fpr) of every attack, pooled over models x ``columns`` sequences."""
    p = params_of(ds)
    sm = score_matrix(ds, models)
    res = mia.evaluate(sm, p.fpr_values, p.min_k, columns, attacks)
    names = list(res)
    return xr.Dataset({"auc": ("attack", [res[a]["auc"] for a in names]),
                       "tpr": (("attack", "fpr"), np.stack([res[a]["tpr"] for a in names]))},
                      coords={"attack": names, "fpr": list(p.fpr_values)})


def roc_curves(ds: xr.Dataset, columns=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{attack: (fpr, tpr)} pooled ROC curves of every attack."""
    p = params_of(ds)
    res = mia.evaluate(score_matrix(ds), p.fpr_values, p.min_k, columns)
    return {a: (r["fpr_curve"], r["tpr_curve"]) for a, r in res.items()}


def tpr_vs_models(ds: xr.Dataset, counts, attacks=("lira_online", "lira_online_fixed", "lira_offline", "lira_offline_fixed", "rmia", "loss")) -> xr.Dataset:
    """TPR at the configured FPRs (and AUC) with only the first m models, for each m in ``counts``."""
    tables = [attack_table(ds, models=int(m), attacks=list(attacks)) for m in counts]
    return xr.concat(tables, dim=xr.DataArray(list(counts), dims="models", name="models"))


def binormal_fit(ds: xr.Dataset) -> dict[str, float]:
    """The pooled separation of the LiRA Gaussians: median over sequences of (mu_in - mu_out) / sd of
    phi (IN, OUT over all models), the d of the binormal optimum drawn beside the measured ROCs."""
    one = _models(ds)
    phi = one["phi"].transpose(MODEL_AXIS, "sequence").values
    keep = one["keep"].transpose(MODEL_AXIS, "sequence").values > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu_in = np.nanmean(np.where(keep, phi, np.nan), 0)
        mu_out = np.nanmean(np.where(~keep, phi, np.nan), 0)
        sd_in = np.nanstd(np.where(keep, phi, np.nan), 0, ddof=1)
        sd_out = np.nanstd(np.where(~keep, phi, np.nan), 0, ddof=1)
    return {"mu_in": float(np.nanmedian(mu_in - mu_out)), "mu_out": 0.0, "sd_in": float(np.nanmedian(sd_in)),
            "sd_out": float(np.nanmedian(sd_out))}
