"""Summaries of saved `grokking` results (xarray, no JAX): phases, dynamics times, prunable neurons.

Phases follow arXiv 2310.13061, App. C (Table 2; ``theory.grokking.classify_phase``). The dynamics
times read the two stages of its Fig. 1 off every run's curves: the net fits, groks, then unlearns the
corrupted labels.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory import grokking as theory
from ...dataset import annotate
from ...study import param_value, split_seeds
from .params import GrokkingParams

TRAIN_FIT, TEST_GROKKED, UNLEARNED = 0.95, 0.90, 0.10  # dynamics thresholds (train fit, test grokked, unlearned)

# units and long_name of every variable of a results file (CF conventions; "1": dimensionless)
_METRICS = {
    "train_acc": "training accuracy (all training pairs, corrupted labels as given)",
    "test_acc": "test accuracy (held-out pairs)",
    "corrupt_acc": "accuracy on the corrupted training pairs, against their corrupted labels",
    "corrupt_true_acc": "accuracy on the corrupted training pairs, against their true labels",
    "clean_acc": "accuracy on the uncorrupted training pairs",
    "train_loss": "training loss (MSE or cross-entropy, as the loss parameter says)",
    "test_loss": "test loss (MSE or cross-entropy, as the loss parameter says)",
}
VARIABLES = {
    "step": ("1", "optimizer step"),
    "neuron": ("1", "hidden neuron (index)"),
    **{name: ("1", text) for name, text in _METRICS.items()},
    "mean_ipr": ("1", "mean inverse participation ratio of the neurons' input weights (one-sided rfft, NaN neurons masked)"),
    "ipr": ("1", "inverse participation ratio of each neuron's input weights at the end of training"),
    "bn_gamma": ("1", "BatchNorm scale |gamma| of each neuron (NaN without BatchNorm)"),
    **{f"final_{name}": ("1", f"final {_METRICS[name]}") for name in ("train_acc", "test_acc", "corrupt_acc", "corrupt_true_acc")},
    "test_peak": ("1", "highest test accuracy over the logged steps"),
    "full_inversion_train_acc": ("1", "training accuracy of a fully inverted net, 1 - xi + xi/p"),
    "t_train95": ("1", "optimizer step at which training accuracy first reaches 95% (NaN: never)"),
    "t_test90": ("1", "optimizer step at which test accuracy first reaches 90% (NaN: never)"),
    "t_unlearn": ("1", "optimizer step at which corrupted-subset accuracy first falls below 10% after its peak (NaN: never)"),
    "n_prunable_low": ("1", "neurons prunable lowest-IPR first with test accuracy still >= 90% (App. Q; NaN: none)"),
    "n_prunable_random": ("1", "neurons prunable in random order with test accuracy still >= 90% (App. Q; NaN: none)"),
}
_ORDERS = {"low": "lowest IPR first", "high": "highest IPR first", "random": "random order, mean over orders",
           "random_std": "random order, standard deviation over orders"}
PHASE_FLAGS = {-1: "diverged", **{int(ph): ph.name.lower() for ph in theory.Phase}}  # CF flag_values / flag_meanings


def pruning_variable(name: str) -> tuple[str, str] | None:
    """(units, long_name) of a pruning curve prune_{order}_{metric}, or None for another name."""
    for order, how in sorted(_ORDERS.items(), key=lambda kv: -len(kv[0])):
        metric = name.removeprefix(f"prune_{order}_")
        if name.startswith(f"prune_{order}_") and metric in _METRICS:
            return "1", f"{_METRICS[metric]} after pruning k neurons ({how}; k is the neuron axis)"
    return None


def phase_at(ds: xr.Dataset, step: int | None = None) -> xr.DataArray:
    """Phase label (theory.Phase ints) from the curves up to ``step`` (default: the last logged)."""
    upto = ds.sel(step=slice(None, step)) if step is not None else ds
    last = upto.isel(step=-1)
    labels = theory.classify_phase(
        last["train_acc"], last["test_acc"], upto["test_acc"].max("step"), xr.DataArray(param_value(ds, "xi")).broadcast_like(last["train_acc"]), param_value(ds, "p")
    )
    return xr.DataArray(labels, dims=last["train_acc"].dims, coords=last["train_acc"].coords)


def first_step_at_or_above(curve: xr.DataArray, threshold: float) -> xr.DataArray:
    """First logged step where ``curve`` >= threshold, per config; NaN if never (NaN entries, e.g. the
    holes of a merge over different step grids, never count)."""
    hit = (curve >= threshold).fillna(False)
    steps = xr.DataArray(curve["step"].values.astype(float), dims="step")
    return steps.where(hit).min("step")


def unlearning_step(corrupt: xr.DataArray, threshold: float = UNLEARNED) -> xr.DataArray:
    """First logged step after the peak of the corrupted-subset accuracy where it is < threshold.

    Decision (the paper is silent on degenerate runs): the peak is the first maximum over the logged
    steps; NaN if the peak itself is below the threshold (nothing memorized, nothing to unlearn), if
    the accuracy never falls below it afterwards, or if there is no corrupted subset (xi = 0)."""
    values = corrupt.fillna(-1.0)
    peak_at = values.argmax("step")
    after = xr.DataArray(np.arange(corrupt.sizes["step"]), dims="step") > peak_at
    peak = corrupt.isel(step=peak_at)
    below = after & (corrupt < threshold).fillna(False)
    steps = xr.DataArray(corrupt["step"].values.astype(float), dims="step")
    return steps.where(below).min("step").where(peak >= threshold)


def prunable_neurons(curve: xr.DataArray, threshold: float = TEST_GROKKED) -> xr.DataArray:
    """How many neurons can be pruned (in the curve's order) with test accuracy still >= threshold
    (paper App. Q): the largest k with curve[k] >= threshold, over the ``neuron`` axis read as k, so
    N - k neurons must remain. Decision (the paper gives only Figure 32): the largest such k, not the
    end of the leading run, because low-IPR-first curves of Coexistence nets dip near 90 % and recover
    once the memorizing neurons are gone. NaN entries (a narrower net inside a merge over widths, or
    curves switched off) never count; NaN if no k qualifies."""
    ok = (curve >= threshold).fillna(False)
    k = xr.DataArray(np.arange(curve.sizes["neuron"], dtype=float), dims="neuron")
    return k.where(ok).max("neuron")


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add final accuracies, the test peak, the phase label (paper App. C) and the dynamics per config:
    t_train95 (train accuracy first >= 95 %), t_test90 (test first >= 90 %), t_unlearn (corrupted-subset
    accuracy first < 10 % after its peak), in optimizer steps, NaN if never; with pruning curves, the
    number of neurons prunable per order (App. Q)."""
    last = ds.isel(step=-1)
    for name in ("train_acc", "test_acc", "corrupt_acc", "corrupt_true_acc"):
        ds[f"final_{name}"] = last[name]
    ds["test_peak"] = ds["test_acc"].max("step")
    p = param_value(ds, "p")
    ds["phase"] = xr.DataArray(
        theory.classify_phase(ds["final_train_acc"], ds["final_test_acc"], ds["test_peak"], xr.DataArray(param_value(ds, "xi")).broadcast_like(ds["final_train_acc"]), p),
        dims=ds["final_train_acc"].dims,
    )
    if "diverged" in ds:  # a diverged run has no phase: -1, never counted by a claim
        ds["phase"] = ds["phase"].where(~ds["diverged"], -1).astype(np.int8)
    ds["phase"] = ds["phase"].astype(np.int8)
    ds["phase"].attrs.update(long_name="phase of the run (arXiv 2310.13061, App. C, Table 2)",
                             flag_values=np.array(list(PHASE_FLAGS), np.int8), flag_meanings=" ".join(PHASE_FLAGS.values()))
    ds["full_inversion_train_acc"] = theory.full_inversion_train_accuracy(xr.DataArray(param_value(ds, "xi")), p)
    ds["t_train95"] = first_step_at_or_above(ds["train_acc"], TRAIN_FIT)
    ds["t_test90"] = first_step_at_or_above(ds["test_acc"], TEST_GROKKED)
    ds["t_unlearn"] = unlearning_step(ds["corrupt_acc"])
    if "prune_low_test_acc" in ds:
        for order in ("low", "random"):
            ds[f"n_prunable_{order}"] = prunable_neurons(ds[f"prune_{order}_test_acc"])
            ds[f"n_prunable_{order}"].attrs["description"] = f"neurons prunable ({order} order) with test accuracy >= 90% (App. Q); NaN if none"
    for name, text in (("t_train95", "train accuracy first >= 95%"), ("t_test90", "test accuracy first >= 90%"), ("t_unlearn", "corrupted-subset accuracy first < 10% after its peak")):
        ds[name].attrs["description"] = f"optimizer step at which {text}; NaN if never"
    return annotate(ds, {**VARIABLES, **{n: v for n in ds.data_vars if (v := pruning_variable(str(n)))}})


# --------------------------------------------------------------------------------------------------
# Reading cells, panels and curves (claims and figures)
# --------------------------------------------------------------------------------------------------


def cell(ds: xr.Dataset, alpha: float, xi: float, wd: float) -> xr.Dataset:
    """One grid cell (nearest coordinate within 1e-6; KeyError if the sweep lacks it)."""
    return ds.sel(alpha=alpha, xi=xi, weight_decay=wd, method="nearest", tolerance=1e-6)


def panel(evidence, name: str = "wd") -> xr.Dataset:
    """One panel of a scale's evidence ({panel: Dataset}); a bare Dataset is the ``wd`` panel."""
    if isinstance(evidence, xr.Dataset):
        if name != "wd":
            raise KeyError(f"panel {name!r}: the evidence is a single Dataset (no panels)")
        return evidence
    return evidence[name]


def seed_of(run: xr.Dataset) -> int:
    """The seed of one run or of a panel without a seed axis: its scalar ``seed`` coordinate, else the
    sweep's base seed (the config attribute), else (a hand-built Dataset) the parameters' default seed 0."""
    if "seed" in run.coords and run["seed"].ndim == 0:
        return int(run["seed"])
    if "config" in run.attrs:
        return int(param_value(run, "seed"))
    return int(GrokkingParams.__dataclass_fields__["seed"].default)


def runs_by_seed(evidence, names, cell: dict | None = None) -> dict[int, xr.Dataset]:
    """{seed: run} from the panels ``names`` of the evidence, the first panel holding a seed winning: with
    ``cell`` ({axis: value}; axes a panel does not sweep are left out), that cell of each panel (a panel
    lacking it is skipped); without, each panel whole, one seed at a time. The panels a claim reads are its
    pilot panel and the panel that holds its out-of-sample seeds (scales.py); absent panels are skipped."""
    runs: dict[int, xr.Dataset] = {}
    for name in names:
        try:
            ds = panel(evidence, name)
        except KeyError:
            continue
        if cell:
            sel = {k: v for k, v in cell.items() if k in ds.dims}
            try:
                ds = ds.sel(sel, method="nearest", tolerance=1e-6) if sel else ds
            except KeyError:
                continue
        for one in ([ds.isel(seed=i) for i in range(ds.sizes["seed"])] if "seed" in ds.dims else [ds]):
            runs.setdefault(seed_of(one), one)
    return runs


def _seed_list(seeds) -> str:
    seeds = sorted(seeds)
    run = len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1))
    return f"{seeds[0]}-{seeds[-1]}" if run else ", ".join(str(s) for s in seeds)


def pilot_verdict(seeds, pilots, check) -> tuple[str, bool]:
    """A claim's verdict over seeds, split by the seeds its pilots saw (README, "Adding a study": a cell or
    threshold chosen from pilots is confirmed on seeds the pilots did not use, and the claim reports both).

    ``check(seeds) -> (measured, ok)`` evaluates the claim on a group of seeds. ``pilots`` None: the
    paper's own cells and thresholds, every seed one group. Otherwise the pilot seeds present and the
    others (out of sample) are checked apart and both reported; the claim passes only if both groups
    are present and hold: without an out-of-sample seed, or where it fails there, the verdict says "not
    reproduced out of sample"."""
    seeds = sorted(set(int(s) for s in seeds))
    if not seeds:
        raise KeyError("no run of the claim's cells in the evidence")
    if pilots is None:
        return check(seeds)
    inside, outside = split_seeds(seeds, pilots)
    parts, ok = [], True
    if inside:
        text, good = check(inside)
        parts.append(f"pilot seeds {_seed_list(inside)}: {text}")
        ok &= bool(good)
    else:
        parts.append(f"pilot seeds {_seed_list(pilots)}: not in the evidence")
        ok = False
    if outside:
        text, good = check(outside)
        parts.append(f"{'out of sample' if good else 'NOT REPRODUCED OUT OF SAMPLE'}, seeds {_seed_list(outside)}: {text}")
        ok &= bool(good)
    else:
        parts.append(f"not reproduced out of sample: no seed beyond the pilots' ({_seed_list(pilots)}) in the evidence")
        ok = False
    return " | ".join(parts), ok


def seeds_of(ds: xr.Dataset, alpha: float, xi: float, wd: float | None = None) -> list[xr.Dataset]:
    """The runs of one cell, one per seed if ``seed`` is an axis (else the single run)."""
    sel = dict(alpha=alpha, xi=xi) if wd is None else dict(alpha=alpha, xi=xi, weight_decay=wd)
    sel = {k: v for k, v in sel.items() if k in ds.dims}
    c = ds.sel(sel, method="nearest", tolerance=1e-6) if sel else ds
    return [c.isel(seed=i) for i in range(c.sizes["seed"])] if "seed" in c.dims else [c]


def phases_by_cell(ds: xr.Dataset, wd: float) -> dict[tuple, theory.Phase]:
    """{(alpha, xi): Phase} of every cell of a panel at one weight decay (KeyError if it lacks wd)."""
    at = ds.sel(weight_decay=wd, method="nearest", tolerance=1e-6)
    return {(float(a), float(x)): theory.Phase(int(at["phase"].sel(alpha=a, xi=x))) for a in np.atleast_1d(ds["alpha"].values) for x in np.atleast_1d(ds["xi"].values)}


def first_step_reached(run: xr.Dataset, var: str, threshold: float) -> float:
    """First logged step of one run where ``var`` >= threshold; inf if never."""
    reached = np.nonzero(run[var].values >= threshold)[0]
    return float(run["step"].values[reached[0]]) if len(reached) else np.inf


def pruned_at(run: xr.Dataset, order: str, metric: str, fraction: float) -> float:
    """A pruning curve (prune_{order}_{metric}, over the ``neuron`` axis read as the number pruned) at
    k = round(fraction N) neurons pruned."""
    curve = run[f"prune_{order}_{metric}"].values
    return float(curve[int(round(fraction * len(curve)))])
