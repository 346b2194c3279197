"""What every `lm-canaries` figure reads: the base width's runs, seed means with their spread, and
titles (Carlini et al., arXiv 1802.08232)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._common import scalar_param

LEVEL_CMAP = "viridis"


def at_width(ds: xr.Dataset, width) -> xr.Dataset:
    """The runs of one width (the dataset itself if width is not swept)."""
    return ds.sel(width=width) if "width" in ds.dims else ds


def widths(ds: xr.Dataset) -> list[int]:
    return [int(w) for w in ds["width"].values] if "width" in ds.dims else [int(scalar_param(ds, "width"))]


def seed_stats(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, min, max) over the seed dim (all equal without one)."""
    if "seed" not in da.dims:
        v = da.values
        return v, v, v
    return da.mean("seed").values, da.min("seed").values, da.max("seed").values


def n_seeds(ds: xr.Dataset) -> int:
    return ds.sizes.get("seed", 1)


def level_colors(levels) -> dict:
    """One colour per repetition level, light to dark."""
    from matplotlib import colormaps

    cmap = colormaps[LEVEL_CMAP]
    n = max(len(levels) - 1, 1)
    return {int(r): cmap(0.9 * i / n) for i, r in enumerate(levels)}


def title(ds: xr.Dataset) -> str:
    steps, layers, digits = (scalar_param(ds, k) for k in ("steps", "layers", "secret_digits"))
    return f"{layers}-layer LM, {steps} steps, |R| = 10^{digits}, {ds.attrs.get('scale', '?')} scale"
