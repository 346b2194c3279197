"""Summaries of `lm-canaries` results (xarray, numpy, scipy; no JAX).

Per config (Carlini et al., arXiv 1802.08232 and 2202.07646; Steinke, Nasr, Jagielski, arXiv
2305.08846; Abadi et al., arXiv 1607.00133):
  * exposure by repetition level r along training, and the skew-normal extrapolation of the final
    exposure from the never-inserted references (Sec. 4.3 of 1802.08232);
  * the fraction of canaries and tracked training rows extracted greedily from k-token true prefixes,
    and their memorization score (fraction of suffix tokens reproduced), by k and r;
  * when the canaries were memorized and when validation loss stopped improving;
  * the accountant's epsilon (RDP, an upper bound) and the one-run audit's lower bound at 95 %.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory import exposure as ex
from ....theory import privacy_audit
from ...accounting import epsilon
from ...dataset import annotate
from ...study import param_value
from .params import parse_levels

AUDIT_CONFIDENCE = 0.95  # confidence of the one-run audit's lower bound
AUDIT_GUESS_FRACTION = 0.25  # the auditor guesses "in" for this fraction of highest scores and "out" for the lowest
ACCOUNTANT = "rdp"  # an upper bound like PLD, about 50x faster at sigma 0.5 (NOTES.md)
MEMORIZED_FRACTION = 0.9  # canaries "memorized" once their mean exposure reaches this fraction of its maximum
PLATEAU_Z = 2.0  # validation loss has stopped improving once it never again falls by more than this many noise SDs
NOISE_FROM = 0.5  # the noise of validation loss is measured over the logged steps from this fraction of training on

# units and long_name of every variable and metric coordinate of a results file (CF conventions; "1":
# dimensionless; losses are in nats per token, log-perplexities and exposures in bits)
VARIABLES = {
    "step": ("1", "optimizer step"),
    "canary": ("1", "canary (index; level-major: canaries_per_level at each repetition level)"),
    "sequence": ("1", "tracked training row (index; same layout as the canaries)"),
    "reference": ("1", "never-inserted reference secret of the skew-normal extrapolation (index)"),
    "prompt": ("1", "true-prefix length k of the greedy extraction test (tokens)"),
    "audit": ("1", "one-run audit canary (index)"),
    "r": ("1", "repetition level r: copies of a canary (or tracked row) in the training set"),
    "canary_r": ("1", "repetition level r of each canary"),
    "sequence_r": ("1", "repetition level r of each tracked training row"),
    "train_loss": ("1", "mean next-token cross-entropy on ordinary training rows (nats per token)"),
    "val_loss": ("1", "mean next-token cross-entropy on held-out Markov rows (nats per token)"),
    "exposure": ("bit", "exact exposure log2|R| - log2 rank of each canary among all 10^digits secrets"),
    "canary_px": ("bit", "log-perplexity of each canary's secret after the template at the end of training"),
    "reference_px": ("bit", "log-perplexity of each never-inserted reference secret at the end of training"),
    "canary_extracted": ("1", "canary reproduced through its last digit by greedy decoding after k true tokens (0/1)"),
    "canary_match": ("1", "fraction of a canary's tokens after the k-token prefix reproduced greedily"),
    "sequence_extracted": ("1", "tracked row's next suffix_length tokens reproduced greedily after its first k (0/1)"),
    "sequence_match": ("1", "fraction of a tracked row's suffix_length tokens reproduced greedily (memorization score)"),
    "exposure_isolated": ("bit", "exact exposure with the other inserted canaries left out of R (what the extrapolation estimates)"),
    "audit_px": ("bit", "log-perplexity of each audit canary's secret after its template"),
    "audit_in": ("1", "the audit canary was inserted (its fair coin; 0/1)"),
    "loss_floor": ("1", "entropy of the Markov chain per token: the validation-loss floor (nats per token)"),
    "sampling_rate": ("1", "Poisson sampling rate q of each training occurrence per step"),
    "batch_mean": ("1", "mean number of occurrences drawn per step"),
    "overflow_steps": ("1", "steps whose Poisson draw overflowed the fixed batch buffer"),
    "dp_grad_gap": ("1", "max |g_DP - g_plain| / max |g_plain| with sigma 0 and C = inf at initialization (NaN without dp)"),
    "exposure_r": ("bit", "mean exact exposure of the canaries at each repetition level"),
    "exposure_final": ("bit", "exact exposure of each canary at the last step"),
    "exposure_extrapolated": ("bit", "skew-normal extrapolation of each canary's exposure from the references (end of training)"),
    "canary_extraction": ("1", "fraction of the canaries at each level extracted with k true tokens"),
    "canary_score": ("1", "mean fraction of canary tokens reproduced, per level and k"),
    "sequence_extraction": ("1", "fraction of the tracked rows at each level extracted with k true tokens"),
    "sequence_score": ("1", "mean memorization score of the tracked rows, per level and k"),
    "plateau_step": ("1", "validation-loss plateau: first logged step after which it never falls more than plateau_tolerance below its value there"),
    "plateau_tolerance": ("1", f"{PLATEAU_Z:g} x the SD of step-to-step changes of validation loss over the second half of training (nats per token)"),
    "val_min_step": ("1", "logged step of the lowest validation loss"),
    "memorized_step": ("1", f"first logged step where the top level's mean exposure reaches {MEMORIZED_FRACTION:g} of its maximum"),
    "epsilon": ("1", f"the accountant's epsilon ({ACCOUNTANT.upper()}) at delta; inf without DP noise"),
    "epsilon_audit": ("1", f"one-run audit lower bound on epsilon at {AUDIT_CONFIDENCE:.0%} confidence (Steinke, Nasr, Jagielski)"),
}


def _param(ds: xr.Dataset, name: str):
    value = param_value(ds, name)
    return value if isinstance(value, xr.DataArray) else xr.DataArray(value)


def levels_of(ds: xr.Dataset) -> np.ndarray:
    """(C,) repetition level of each canary / tracked row of the results."""
    reps, per = param_value(ds, "repetitions"), param_value(ds, "canaries_per_level")
    if isinstance(reps, xr.DataArray) or isinstance(per, xr.DataArray):
        raise ValueError("repetitions and canaries_per_level must be fixed in one results file (they set the shapes)")
    return np.repeat(np.asarray(parse_levels(reps, "repetitions", 0, 1 << 16)), int(per))


def by_level(da: xr.DataArray, dim: str, levels: np.ndarray) -> xr.DataArray:
    """Mean over the canaries (or rows) of each repetition level: dim -> 'r'."""
    return da.assign_coords(r=(dim, levels)).groupby("r").mean(dim)


def first_step(steps: np.ndarray, reached: np.ndarray) -> float:
    """The first step where ``reached`` holds, NaN if never."""
    hit = np.flatnonzero(reached)
    return float(steps[hit[0]]) if hit.size else np.nan


def val_noise(steps: np.ndarray, val_loss: np.ndarray) -> float:
    """Step-to-step noise of validation loss: the standard deviation (ddof 1) of its changes between
    consecutive logged steps over the second half of training (NaN with fewer than 3 such steps)."""
    late = val_loss[steps >= NOISE_FROM * steps[-1]]
    if late.size < 3 or not np.all(np.isfinite(late)):
        return np.nan
    return float(np.std(np.diff(late), ddof=1))


def plateau_step(steps: np.ndarray, val_loss: np.ndarray, tol: float) -> float:
    """When validation loss stops improving: the first logged step t after which it never falls more
    than ``tol`` below its value at t (min over later steps >= val_loss(t) - tol). The last step always
    qualifies; NaN if the curve or ``tol`` is not finite."""
    if not (np.all(np.isfinite(val_loss)) and np.isfinite(tol)):
        return np.nan
    later_min = np.append(np.minimum.accumulate(val_loss[::-1])[::-1][1:], np.inf)  # min over steps after t
    return first_step(steps, later_min >= val_loss - tol)


def val_plateau(steps: np.ndarray, val_loss: np.ndarray, z: float = PLATEAU_Z) -> tuple[float, float]:
    """(plateau step, tolerance): the plateau of validation loss with the tolerance z x its step-to-step
    noise (``val_noise``), a z-sigma test on val_loss(t) - val_loss(t')."""
    tol = z * val_noise(steps, val_loss)
    return plateau_step(steps, val_loss, tol), tol


def memorized_step(steps: np.ndarray, exposure: np.ndarray, fraction: float = MEMORIZED_FRACTION) -> float:
    """When canaries are memorized: the first step where the mean exposure (step,) reaches ``fraction``
    of its maximum over training."""
    if not np.all(np.isfinite(exposure)):
        return np.nan
    return first_step(steps, exposure >= fraction * exposure.max())


def extrapolated(canary_px: np.ndarray, reference_px: np.ndarray) -> np.ndarray:
    """Skew-normal extrapolation of the canaries' exposure from the references' log-perplexities."""
    if not (np.all(np.isfinite(canary_px)) and np.all(np.isfinite(reference_px))):
        return np.full(canary_px.shape, np.nan)
    return ex.exposure_extrapolated(canary_px, reference_px)


def audit_epsilon(audit_px: np.ndarray, audit_in: np.ndarray, delta: float) -> float:
    """One-run audit: the score of an audit canary is minus its log-perplexity; guess "in" for the
    quarter with the highest score, "out" for the quarter with the lowest; the lower bound on epsilon at
    95 %."""
    if not np.all(np.isfinite(audit_px)):
        return np.nan
    k = int(AUDIT_GUESS_FRACTION * audit_px.size)
    return privacy_audit.one_run_audit(-audit_px, audit_in > 0.5, k, k, float(delta), AUDIT_CONFIDENCE)["epsilon"]


def accountant_epsilon(dp: bool, sigma: float, rate: float, steps: int, delta: float) -> float:
    """The accountant's epsilon of the run (inf without DP or without noise)."""
    if not dp or sigma <= 0 or not np.isfinite(rate):
        return np.inf
    return epsilon(float(sigma), float(rate), int(steps), float(delta), ACCOUNTANT)


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add per-level and derived variables, every variable with CF units and long_name (``VARIABLES``):

    exposure_r (..., step, r): mean exact exposure per level; exposure_final (..., canary);
    exposure_extrapolated (..., canary): skew-normal estimate at the end;
    canary_extraction, sequence_extraction, canary_score, sequence_score (..., prompt, r): fraction
    extracted and mean memorization score per level;
    plateau_step, plateau_tolerance (...): when validation loss stops improving (``val_plateau``) and the
    tolerance used; val_min_step (...): the step of its minimum; memorized_step (...): when the top
    level's mean exposure first reaches 90 % of its maximum;
    epsilon (...): the accountant's (inf without DP noise); epsilon_audit (...): the audit's lower bound.
    """
    levels = levels_of(ds)
    ds = ds.assign_coords(canary_r=("canary", levels), sequence_r=("sequence", levels))
    ds["exposure_r"] = by_level(ds["exposure"], "canary", levels)
    ds["exposure_final"] = ds["exposure"].isel(step=-1)
    ds["exposure_extrapolated"] = xr.apply_ufunc(extrapolated, ds["canary_px"], ds["reference_px"], input_core_dims=[["canary"], ["reference"]],
                                                 output_core_dims=[["canary"]], vectorize=True)
    for kind in ("canary", "sequence"):
        ds[f"{kind}_extraction"] = by_level(ds[f"{kind}_extracted"], kind, levels)
        ds[f"{kind}_score"] = by_level(ds[f"{kind}_match"], kind, levels)
    steps = ds["step"].values
    ds["plateau_step"], ds["plateau_tolerance"] = xr.apply_ufunc(lambda v: val_plateau(steps, v), ds["val_loss"], input_core_dims=[["step"]],
                                                                 output_core_dims=[[], []], vectorize=True)
    ds["val_min_step"] = xr.apply_ufunc(lambda v: float(steps[np.argmin(v)]) if np.all(np.isfinite(v)) else np.nan, ds["val_loss"],
                                        input_core_dims=[["step"]], vectorize=True)
    top = ds["exposure_r"].sel(r=levels.max())
    ds["memorized_step"] = xr.apply_ufunc(lambda e: memorized_step(steps, e), top, input_core_dims=[["step"]], vectorize=True)
    delta = _param(ds, "delta")
    ds["epsilon_audit"] = xr.apply_ufunc(audit_epsilon, ds["audit_px"], ds["audit_in"], delta, input_core_dims=[["audit"], ["audit"], []],
                                         vectorize=True)
    ds["epsilon"] = xr.apply_ufunc(accountant_epsilon, _param(ds, "dp"), _param(ds, "sigma"), ds["sampling_rate"], _param(ds, "steps"),
                                   delta, vectorize=True)
    return annotate(ds, VARIABLES)


def seed_mean(da: xr.DataArray) -> xr.DataArray:
    """Mean over seeds (and nothing else) if there is a seed dim."""
    return da.mean("seed") if "seed" in da.dims else da


def null_se(n: int) -> float:
    """Standard error of the mean exposure of n never-inserted canaries: log2 e / sqrt(n) bits (their
    exposure is -log2 of a uniform, an exponential with mean and sd log2 e; theory/exposure.py)."""
    return ex.NULL_EXPOSURE / np.sqrt(n)

