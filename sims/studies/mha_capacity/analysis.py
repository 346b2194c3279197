"""Summaries of `mha-capacity` results (xarray, no JAX): memorized counts, capacity and seed intervals.

Memorization is training accuracy of the trained model, as in the paper's experiments (arXiv
2306.02010, Sec. 5, Fig. 2). Two capacity measures:
  * M, the chance-corrected memorized count T (acc - 1/C) / (1 - 1/C) maximised over T (the claims' measure);
  * T99, the largest T with training accuracy >= 99 %, interpolated between grid points.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from ...dataset import annotate
from ...stats import t_quantile
from ...study import param_value

SATURATED = 0.99  # a head is saturated on an example if its largest attention weight exceeds this
THRESHOLD = 0.99  # capacity T99 = largest T with training accuracy >= this

# units and long_name of every variable of a results file (CF conventions; "1": dimensionless)
VARIABLES = {
    "step": ("1", "optimizer step"),
    "example": ("1", "training example (index)"),
    "head": ("1", "attention head (index)"),
    "train_loss": ("1", "training loss (cross-entropy; squared error when C = 1)"),
    "train_acc": ("1", "training accuracy: fraction of the T examples memorized"),
    "max_attn": ("1", "largest attention weight of each head on each example after training"),
    "max_attn_init": ("1", "largest attention weight of each head on each example at initialization"),
    "best_acc": ("1", "training accuracy at the lowest-loss logged step (the official best checkpoint)"),
    "acc": ("1", "best-checkpoint training accuracy, maximised over lr"),
    "memorized": ("1", "chance-corrected memorized count T (acc - 1/C) / (1 - 1/C) (T acc when C = 1)"),
    "max_memorized": ("1", "memorization capacity M: the memorized count maximised over T"),
    "saturated_fraction": ("1", f"fraction of (example, head) pairs whose largest attention weight exceeds {SATURATED} after training"),
    "saturated_fraction_init": ("1", f"fraction of (example, head) pairs whose largest attention weight exceeds {SATURATED} at initialization"),
    "capacity": ("1", f"capacity T99: largest T with training accuracy >= {THRESHOLD}, interpolated between grid points"),
    "capacity_censored": ("1", "capacity censored: even the largest T of the grid is memorized"),
    "capacity_mean": ("1", "capacity T99, mean over seeds"),
    "capacity_lo": ("1", "capacity T99, lower end of the 95% Student t interval of the mean over seeds"),
    "capacity_hi": ("1", "capacity T99, upper end of the 95% Student t interval of the mean over seeds"),
    "capacity_min": ("1", "capacity T99, smallest over seeds"),
    "capacity_max": ("1", "capacity T99, largest over seeds"),
}


def capacity_from_curve(T_values: np.ndarray, acc: np.ndarray, threshold: float = THRESHOLD) -> tuple[float, bool]:
    """Largest T with accuracy >= threshold, linearly interpolated to the crossing with the next T.

    T_values ascending (K,), acc (K,). Returns (capacity, censored): censored when even the largest T
    is memorized (capacity >= T_values[-1]); NaN when even the smallest T is not.
    """
    ok = np.nonzero(acc >= threshold)[0]
    if len(ok) == 0 or not np.all(np.isfinite(acc)):
        return np.nan, False
    i = ok[-1]
    if i == len(acc) - 1:
        return float(T_values[-1]), True
    t0, t1, a0, a1 = T_values[i], T_values[i + 1], acc[i], acc[i + 1]
    return float(t0 + (t1 - t0) * (a0 - threshold) / (a0 - a1)), False


def seed_interval(values: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(mean, lo, hi) over the 'seed' dim: the two-sided 95 % Student t interval of the mean (lo = hi =
    mean with one seed)."""
    k = values.sizes["seed"]
    mean = values.mean("seed")
    if k < 2:
        return mean, mean, mean
    half = t_quantile(k - 1) * values.std("seed", ddof=1) / np.sqrt(k)
    return mean, mean - half, mean + half


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add best-checkpoint accuracy, memorized counts and capacity with seed intervals.

    best_acc (..., T, seed, lr): accuracy at the lowest-loss logged step (official best checkpoint);
    acc (..., T, seed): max over lr (capacity is an existence notion);
    memorized (..., T, seed): chance-corrected count T (acc - 1/C) / (1 - 1/C), or T acc (regression);
    capacity (..., seed), capacity_censored; capacity_mean / _lo / _hi: mean and t-interval over seeds
    (95 %), capacity_min / _max; max_memorized (..., seed): max over T of memorized;
    saturated_fraction (..., T, seed, lr): fraction of (example, head) pairs with max weight > 0.99.
    """
    best = ds["train_loss"].fillna(np.inf).argmin("step")
    ds["best_acc"] = ds["train_acc"].isel(step=best)
    acc = ds["best_acc"].max("lr") if "lr" in ds.dims else ds["best_acc"]
    C = int(param_value(ds, "C"))
    T = xr.DataArray(np.asarray(param_value(ds, "T"), float), dims=("T",) if "T" in ds.dims else ())
    ds["acc"] = acc
    memorized = T * (acc - 1.0 / C) / (1.0 - 1.0 / C) if C > 1 else T * acc
    ds["memorized"] = memorized.transpose(*acc.dims)  # the grid's dim order, as every other variable
    ds["max_memorized"] = ds["memorized"].max("T") if "T" in ds.dims else ds["memorized"]
    ds["saturated_fraction"] = (ds["max_attn"] > SATURATED).where(ds["max_attn"].notnull()).mean(("example", "head"))
    ds["saturated_fraction_init"] = (ds["max_attn_init"] > SATURATED).where(ds["max_attn_init"].notnull()).mean(("example", "head"))
    if "T" in ds.dims:
        cap, cens = xr.apply_ufunc(
            lambda a: capacity_from_curve(ds["T"].values.astype(float), a),
            acc,
            input_core_dims=[["T"]],
            output_core_dims=[[], []],
            vectorize=True,
        )
        ds["capacity"], ds["capacity_censored"] = cap, cens.astype(bool)
        if "seed" in ds.dims:
            ds["capacity_mean"], ds["capacity_lo"], ds["capacity_hi"] = seed_interval(cap)
            ds["capacity_min"], ds["capacity_max"] = cap.min("seed"), cap.max("seed")
    return annotate(ds, VARIABLES)


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line y = a + b x: (slope b, intercept a, R^2)."""
    fit = stats.linregress(x, y)
    return float(fit.slope), float(fit.intercept), float(fit.rvalue**2)
