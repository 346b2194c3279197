"""Summaries of `over-memorization` results (xarray, numpy; no JAX).

Per config (Lin, Yu, Han, Liu, ICLR 2024, arXiv 2310.08847):
  * natural overfitting (Sec. 3): best and last test accuracy and their gap; the share of noisy
    labels fitted at the end;
  * the over-memorization signature (Sec. 3): when test accuracy declines and when the share of
    training samples with loss below T rises, each as the first epoch at which the curve (a trailing
    5-epoch mean) has gone halfway from its value at the test-accuracy peak to its final value;
  * persistence (Sec. 3, Fig. 2): how much the mean loss of the 'original' and 'transformed'
    high-confidence groups rises from the epoch they are removed to the end of training;
  * robust overfitting (Sec. 4, Rice et al.): best and last PGD robust accuracy and their gap;
  * catastrophic overfitting (Sec. 4, Wong et al.): the first epoch at which robust accuracy falls from
    >= 30 % to <= 5 % within 3 epochs while the training attack's accuracy rises (the fact sheet's
    acceptance test);
  * detection transfer (Sec. 4, the ten-group ranking): the overlap of the most confident decile of training samples
    ranked by natural loss and by adversarial loss.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...dataset import annotate
from ...study import param_value
from .params import METHODS

SMOOTH = 5  # epochs of the trailing mean under the halfway-epoch rule
DECILE = 0.1  # the most confident tenth of the training set (the paper's ten groups)
CO_HIGH, CO_LOW, CO_WITHIN = 0.30, 0.05, 3  # catastrophic overfitting: from >= 30 % to <= 5 % within 3 epochs
RAW_LEVELS = 16  # the raw digits are grey levels 0-16; epsilon x 16 in raw units

# units and long_name of every variable and coordinate of a results file (CF; "1": dimensionless;
# losses in nats, accuracies and shares as fractions)
VARIABLES = {
    "epoch": ("1", "training epoch (records at its end)"),
    "sample": ("1", "training sample (index into the fixed stratified split)"),
    "variant": ("1", "DOM variant: " + ", ".join(f"{i} {m}" for i, m in enumerate(METHODS))),
    "epsilon": ("1", "L-inf radius on the [0, 1] pixel scale (raw digit levels 0-16 divided by 16)"),
    "test_acc": ("1", "test accuracy on the 540 held-out digits"),
    "robust_acc": ("1", "PGD-k robust accuracy (k = eval_steps, random start, step epsilon/4) on the first robust_eval test digits"),
    "low_loss_share": ("1", "share of training samples with natural loss below the threshold T (their training labels)"),
    "noisy_fit": ("1", "share of noisy-label training samples predicted as their noisy label"),
    "clean_fit": ("1", "share of clean-label training samples predicted as their label"),
    "train_loss": ("nat", "mean natural cross-entropy of the training set (training labels)"),
    "train_adv_acc": ("1", "mean accuracy of the training steps on the inputs trained on (attacked and augmented)"),
    "orig_loss": ("nat", "mean natural loss of the 'original' high-confidence group (loss < T at the start of epoch K)"),
    "trans_loss": ("nat", "mean natural loss of the 'transformed' group (loss < T at the start of epoch removal, not at K)"),
    "orig_size": ("1", "training samples in the original high-confidence group"),
    "trans_size": ("1", "training samples in the transformed high-confidence group"),
    "orig_loss_start": ("nat", "mean loss of the original group at the start of the removal epoch"),
    "trans_loss_start": ("nat", "mean loss of the transformed group at the start of the removal epoch"),
    "nat_loss": ("nat", "natural cross-entropy of each training sample at the end"),
    "adv_loss": ("nat", "PGD-k adversarial cross-entropy of each training sample at the end (eval_steps, epsilon)"),
    "noisy": ("1", "the training label was replaced by label noise (0/1)"),
    "best_acc": ("1", "highest test accuracy over the epochs"),
    "best_epoch": ("1", "epoch of the highest test accuracy"),
    "last_acc": ("1", "test accuracy after the last epoch"),
    "acc_gap": ("1", "best - last test accuracy"),
    "noisy_fit_last": ("1", "share of noisy labels fitted after the last epoch"),
    "decline_epoch": ("1", f"first epoch after the peak at which test accuracy ({SMOOTH}-epoch trailing mean) is halfway down to its final value"),
    "jump_epoch": ("1", f"first epoch after the test peak at which the low-loss share ({SMOOTH}-epoch trailing mean) is halfway up to its final value"),
    "orig_rise": ("nat", "last-epoch minus removal-epoch mean loss of the original group"),
    "trans_rise": ("nat", "last-epoch minus removal-epoch mean loss of the transformed group"),
    "robust_best": ("1", "highest robust accuracy over the epochs"),
    "robust_last": ("1", "robust accuracy after the last epoch"),
    "robust_gap": ("1", "best - last robust accuracy"),
    "co_epoch": ("1", f"first epoch at which robust accuracy has fallen from >= {CO_HIGH:.0%} to <= {CO_LOW:.0%} within {CO_WITHIN} epochs while the training attack's accuracy rose (NaN: never)"),
    "overlap": ("1", "overlap of the most confident decile of training samples by natural loss and by adversarial loss"),
    "epsilon_levels": ("1", "epsilon in raw digit grey levels (0-16 scale): 16 x epsilon"),
}


def trailing_mean(x: np.ndarray, window: int = SMOOTH) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    c = np.cumsum(np.insert(np.asarray(x, float), 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def halfway_index(curve: np.ndarray, start: int, rising: bool) -> float:
    """First index >= start at which ``curve`` has gone halfway from curve[start] to curve[-1] (in the
    direction ``rising``), NaN if it has not moved that way."""
    a, b = curve[start], curve[-1]
    if not np.all(np.isfinite(curve)) or (b <= a if rising else b >= a):
        return np.nan
    half = a + 0.5 * (b - a)
    hit = np.flatnonzero((curve[start:] >= half) if rising else (curve[start:] <= half))
    return float(start + hit[0]) if hit.size else np.nan


def decline_and_jump(epochs: np.ndarray, test_acc: np.ndarray, share: np.ndarray) -> tuple[float, float]:
    """(decline epoch, jump epoch): halfway epochs of the smoothed test accuracy (down) and the smoothed
    low-loss share (up), both counted from the smoothed test-accuracy peak."""
    acc, low = trailing_mean(test_acc), trailing_mean(share)
    if not (np.all(np.isfinite(acc)) and np.all(np.isfinite(low))):
        return np.nan, np.nan
    peak = int(np.argmax(acc))
    at = lambda i: float(epochs[int(i)]) if np.isfinite(i) else np.nan
    return at(halfway_index(acc, peak, False)), at(halfway_index(low, peak, True))


def collapse_epoch(epochs: np.ndarray, robust: np.ndarray, train_acc: np.ndarray) -> float:
    """The first epoch t' at which robust accuracy is <= CO_LOW, having been >= CO_HIGH at an epoch t
    with t' - CO_WITHIN <= t < t', while the training attack's accuracy rose from t to t'; NaN if none."""
    if not np.all(np.isfinite(robust)):
        return np.nan
    for j in range(len(robust)):
        for i in range(max(0, j - CO_WITHIN), j):
            if robust[i] >= CO_HIGH and robust[j] <= CO_LOW and train_acc[j] > train_acc[i]:
                return float(epochs[j])
    return np.nan


def top_overlap(nat: np.ndarray, adv: np.ndarray, fraction: float = DECILE) -> float:
    """|A & B| / k for A, B the k = ceil(fraction n) samples of lowest natural and lowest adversarial loss."""
    if not (np.all(np.isfinite(nat)) and np.all(np.isfinite(adv))):
        return np.nan
    k = int(np.ceil(fraction * nat.size))
    return len(np.intersect1d(np.argsort(nat, kind="stable")[:k], np.argsort(adv, kind="stable")[:k])) / k


def _over_epoch(fn, *arrays, outputs=1):
    core = [["epoch"]] * len(arrays)
    return xr.apply_ufunc(fn, *arrays, input_core_dims=core, output_core_dims=[[]] * outputs, vectorize=True)


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add the per-config summaries of the module docstring (VARIABLES gives each its units)."""
    epochs = ds["epoch"].values
    acc = ds["test_acc"]
    ds["best_acc"] = acc.max("epoch")
    ds["best_epoch"] = _over_epoch(lambda v: float(epochs[np.argmax(v)]) if np.all(np.isfinite(v)) else np.nan, acc)
    ds["last_acc"] = acc.isel(epoch=-1)
    ds["acc_gap"] = ds["best_acc"] - ds["last_acc"]
    ds["noisy_fit_last"] = ds["noisy_fit"].isel(epoch=-1)
    ds["decline_epoch"], ds["jump_epoch"] = _over_epoch(lambda a, s: decline_and_jump(epochs, a, s), acc, ds["low_loss_share"], outputs=2)
    ds["orig_rise"] = ds["orig_loss"].isel(epoch=-1) - ds["orig_loss_start"]
    ds["trans_rise"] = ds["trans_loss"].isel(epoch=-1) - ds["trans_loss_start"]
    ds["robust_best"] = ds["robust_acc"].max("epoch")
    ds["robust_last"] = ds["robust_acc"].isel(epoch=-1)
    ds["robust_gap"] = ds["robust_best"] - ds["robust_last"]
    ds["co_epoch"] = _over_epoch(lambda r, t: collapse_epoch(epochs, r, t), ds["robust_acc"], ds["train_adv_acc"])
    ds["overlap"] = xr.apply_ufunc(top_overlap, ds["nat_loss"], ds["adv_loss"], input_core_dims=[["sample"], ["sample"]], vectorize=True)
    ds["epsilon_levels"] = RAW_LEVELS * xr.DataArray(param_value(ds, "epsilon")) if "config" in ds.attrs or "epsilon" in ds.coords else np.nan
    ds.attrs["epsilon_scale"] = "epsilon on the [0, 1] pixel scale: raw digits (0-16) / 16; epsilon_levels = 16 x epsilon"
    return annotate(ds, VARIABLES)


def seed_mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("seed") if "seed" in da.dims else da
