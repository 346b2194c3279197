"""Per-epoch curves of the `over-memorization` study: the three paradigms with the over-memorization
share (Lin, Yu, Han, Liu, arXiv 2310.08847, Sec. 3-4), and the DOM variants (Sec. 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.over_memorization.params import BASELINE, METHODS
from .._common import save, scalar_param

COLORS = {0: "tab:blue", 1: "tab:orange", 2: "tab:green", 3: "tab:purple", 4: "tab:gray"}


def seed_band(ax, x, da: xr.DataArray, color, label, ls="-"):
    """Seed mean with a min-max band (the array itself without a seed dim)."""
    if "seed" in da.dims:
        mean, lo, hi = da.mean("seed").values, da.min("seed").values, da.max("seed").values
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
    else:
        mean = da.values
    ax.plot(x, mean, ls, color=color, label=label, lw=1.3)


def _first(ds: xr.Dataset, dim: str) -> xr.Dataset:
    return ds.isel({dim: 0}) if dim in ds.dims else ds


def _describe(ds: xr.Dataset) -> str:
    attack, eps, T = (scalar_param(ds, k) for k in ("attack", "epsilon", "threshold"))
    noise = scalar_param(ds, "noise")
    what = {"none": "natural", "pgd": f"PGD-{scalar_param(ds, 'attack_steps')} AT", "fgsm": "FGSM AT"}[attack]
    eps_txt = f", eps {eps:g} ({16 * eps:g}/16)" if attack != "none" else ""
    return f"{what}{eps_txt}, noise {noise:g}, T {T:g}"


def paradigm_figure(ev: dict, path: Path) -> Path:
    """One column per panel (noise, clean, pgd, fgsm; baseline variant or every step ratio): accuracy
    on top (test, and PGD-20 robust where measured), below the share of training samples with loss < T
    and, under label noise, the share of noisy labels fitted; the warm-up K and the LR decays marked."""
    names = [n for n in ("noise", "clean", "pgd", "fgsm") if n in ev]
    fig = Figure(figsize=(3.6 * len(names), 6), layout="constrained")
    axes = np.asarray(fig.subplots(2, len(names), squeeze=False))
    for col, name in enumerate(names):
        ds = ev[name]
        runs = [(f"ratio {r:g}", ds.sel(step_ratio=r)) for r in ds["step_ratio"].values] if name == "fgsm" and "step_ratio" in ds.dims \
            else [("baseline", ds.sel(variant=BASELINE) if "variant" in ds.dims else ds)]
        x = ds["epoch"].values
        top, bottom = axes[0, col], axes[1, col]
        for i, (label, run) in enumerate(runs):
            ls = ["-", "--", ":"][i % 3]
            seed_band(top, x, run["test_acc"], "tab:blue", f"test ({label})", ls)
            if np.isfinite(run["robust_acc"].values).any():
                seed_band(top, x, run["robust_acc"], "tab:red", f"PGD-{scalar_param(ds, 'eval_steps')} robust ({label})", ls)
            seed_band(bottom, x, run["low_loss_share"], "tab:green", f"loss < T ({label})", ls)
            if np.isfinite(run["noisy_fit"].values).any():
                seed_band(bottom, x, run["noisy_fit"], "tab:orange", "noisy labels fitted", ls)
            if name in ("pgd", "fgsm"):
                seed_band(bottom, x, run["train_adv_acc"], "tab:purple", f"training-attack accuracy ({label})", ls)
        for ax in (top, bottom):
            ax.axvline(scalar_param(ds, "warmup"), color="0.5", ls=":", lw=1)
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=6)
        top.set_title(f"{name}: {_describe(ds)}", fontsize=8)
        bottom.set_xlabel("epoch")
    axes[0, 0].set_ylabel("accuracy")
    axes[1, 0].set_ylabel("share of training samples")
    fig.suptitle("Over-memorization across paradigms (dotted: warm-up K); seed mean, band = seed range", fontsize=9)
    return save(fig, path)


def dom_figure(noise: xr.Dataset, path: Path) -> Path:
    """Test accuracy and noisy-label fit along training for every variant of the noise panel, and the
    last test accuracy per variant and seed."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax_acc, ax_fit, ax_last = fig.subplots(1, 3)
    x = noise["epoch"].values
    variants = [int(v) for v in noise["variant"].values]
    for v in variants:
        run = noise.sel(variant=v)
        seed_band(ax_acc, x, run["test_acc"], COLORS[v], METHODS[v])
        seed_band(ax_fit, x, run["noisy_fit"], COLORS[v], METHODS[v])
        last = np.atleast_1d(run["last_acc"].values)
        ax_last.scatter(np.full(last.shape, variants.index(v)), 100 * last, color=COLORS[v], s=18)
        ax_last.plot([variants.index(v) - 0.25, variants.index(v) + 0.25], [100 * last.mean()] * 2, color=COLORS[v], lw=2)
    for ax, label in ((ax_acc, "test accuracy"), (ax_fit, "share of noisy labels fitted")):
        ax.axvline(scalar_param(noise, "warmup"), color="0.5", ls=":", lw=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    ax_acc.legend(fontsize=7)
    ax_last.set_xticks(range(len(variants)), [METHODS[v] for v in variants], rotation=20, fontsize=7)
    ax_last.set_ylabel("last test accuracy (%), dots: seeds, bar: mean")
    fig.suptitle(f"DOM under label noise: {_describe(noise)}, K {scalar_param(noise, 'warmup')}, beta {scalar_param(noise, 'beta'):g}, "
                 f"gamma {scalar_param(noise, 'gamma')}", fontsize=9)
    return save(fig, path)
