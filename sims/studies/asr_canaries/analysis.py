"""Summaries of `asr-canaries` results (xarray, numpy; no JAX).

Per config (Wang, Thakkar, Mathews, arXiv 2310.11739, Sec. 2-4): the token error rate (TER) and
exact-match rate of each repetition group K_r (K_0: never trained on), the memorization
M(r) = TER(K_0) - TER(K_r), and the quantiles of the per-example gradient norms of clean and canary
examples at the end of training (the calibration from which the clip norm C is chosen).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...dataset import annotate
from ...study import param_value
from .params import parse_levels

QUANTILES = (0.1, 0.5, 0.9, 0.99)
PROTECT_TOL = 0.2  # |TER(K_r) - TER(K_0)| at most this: level r counts as protected

VARIABLES = {
    "epoch": ("1", "training epoch (passes over the training multiset)"),
    "canary": ("1", "canary (index; level-major, 0 = held out first)"),
    "calib": ("1", "clean training utterance of the gradient-norm calibration (index)"),
    "r": ("1", "repetition level r: copies of a canary in the training set (0: held out)"),
    "quantile": ("1", "quantile of the per-example gradient norms"),
    "canary_r": ("1", "repetition level r of each canary"),
    "train_loss": ("1", "mean CTC loss per label token over the epoch's batches (nats per token)"),
    "clean_ter": ("1", "token error rate (edit distance / reference length) on the clean test set, greedy CTC decoding"),
    "clean_exact": ("1", "fraction of clean test utterances transcribed exactly"),
    "canary_ter": ("1", "token error rate of each sped-up canary"),
    "canary_exact": ("1", "canary transcribed exactly (0/1)"),
    "clean_grad_norm": ("1", "L2 norm of each calibration utterance's gradient at the end of training"),
    "canary_grad_norm": ("1", "L2 norm of each canary's gradient at the end of training"),
    "canary_feasible": ("1", "a CTC alignment of the canary exists (T' >= N + adjacent repeats; 0/1)"),
    "inf_gap": ("1", "max |g_method(C = inf) - g_baseline| / max |g_baseline| on the first batch at initialization (NaN for the baseline)"),
    "ter_r": ("1", "mean TER of the canaries of each repetition level"),
    "exact_r": ("1", "exact-match rate of the canaries of each repetition level"),
    "memorization": ("1", "M(r) = TER(K_0) - TER(K_r)"),
    "clean_norm_q": ("1", "quantiles of the clean per-example gradient norms"),
    "canary_norm_q": ("1", "quantiles of the canary per-example gradient norms (all levels)"),
}


def levels_of(ds: xr.Dataset) -> np.ndarray:
    """(K,) repetition level of each canary of the results."""
    reps, per = param_value(ds, "repetitions"), param_value(ds, "canaries_per_level")
    if isinstance(reps, xr.DataArray) or isinstance(per, xr.DataArray):
        raise ValueError("repetitions and canaries_per_level must be fixed in one results file (they set the shapes)")
    return np.repeat(np.asarray(parse_levels(reps)), int(per))


def by_level(da: xr.DataArray, levels: np.ndarray) -> xr.DataArray:
    """Mean over the canaries of each level: canary -> r."""
    return da.assign_coords(r=("canary", levels)).groupby("r").mean("canary")


def quantiles(da: xr.DataArray, dim: str) -> xr.DataArray:
    return da.quantile(list(QUANTILES), dim=dim)


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add ter_r, exact_r, memorization (..., r) and the gradient-norm quantiles (..., quantile)."""
    levels = levels_of(ds)
    ds = ds.assign_coords(canary_r=("canary", levels))
    ds["ter_r"] = by_level(ds["canary_ter"], levels)
    ds["exact_r"] = by_level(ds["canary_exact"], levels)
    ds["memorization"] = ds["ter_r"].sel(r=0) - ds["ter_r"]
    ds["clean_norm_q"] = quantiles(ds["clean_grad_norm"], "calib")
    ds["canary_norm_q"] = quantiles(ds["canary_grad_norm"], "canary")
    return annotate(ds, VARIABLES)


def seed_mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("seed") if "seed" in da.dims else da


def protected_range(ter_r: np.ndarray, r: np.ndarray, tol: float = PROTECT_TOL) -> int:
    """The largest level r such that every trained level up to it has |TER(K_r) - TER(K_0)| <= tol
    (0 if level 1 is already memorized). ter_r, r: (levels,) with r[0] = 0."""
    out = 0
    for level, t in zip(r[1:], ter_r[1:]):
        if abs(t - ter_r[0]) > tol:
            break
        out = int(level)
    return out
