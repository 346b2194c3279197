"""The merged result of a sweep: the configs' metrics placed on the grid as one xarray Dataset (one dim per
axis plus the study's metric dims, with the divergence flags), saved as netCDF and read back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np
import xarray as xr

from .atomic import atomic_write
from .errors import RoteError

if TYPE_CHECKING:
    from .grid import Grid
    from .study import Study


def merge(study: Study, grid: Grid, metrics_by_config: Mapping[int, Mapping[str, np.ndarray]]) -> xr.Dataset:
    """One Dataset with dims (*axes, *metric dims); each config is placed at its grid position.

    Configs not (yet) run are NaN. Static groups whose metric coordinates differ (e.g. different
    ``steps``) are aligned on the union of coordinates, NaN elsewhere. Adds ``diverged`` (a
    divergence metric is non-finite) and ``diverged_step`` (first ``step`` coordinate where one is
    non-finite; -1 if none) per config.
    """
    if not metrics_by_config:
        raise RoteError("no finished configs to merge")
    groups = grid.groups()
    group_coords = {key: study.coords(grid.configs[idx[0]]) for key, idx in groups.items()}
    group_of = {i: key for key, idx in groups.items() for i in idx}
    extra = {d for dims in study.metric_dims.values() for d in dims}
    union = {}
    for d in extra:
        values = [np.asarray(c[d]) for c in group_coords.values()]
        union[d] = values[0] if all(np.array_equal(v, values[0]) for v in values) else np.unique(np.concatenate(values))
    complete = len(metrics_by_config) == len(grid)

    watched = list(study.divergence_metrics or [n for n, v in next(iter(metrics_by_config.values())).items() if np.issubdtype(np.asarray(v).dtype, np.floating)])
    diverged = np.zeros(grid.shape, bool)
    diverged_step = np.full(grid.shape, -1, np.int64)
    for i, metrics in metrics_by_config.items():
        pos = np.unravel_index(i, grid.shape)
        bad = {n: ~np.isfinite(np.asarray(metrics[n])) for n in watched}
        diverged[pos] = any(b.any() for b in bad.values())
        stepped = [np.asarray(b).reshape(b.shape[0], -1).any(1) for n, b in bad.items() if study.metric_dims[n][:1] == ("step",)]
        if diverged[pos] and stepped:
            steps = np.asarray(group_coords[group_of[i]]["step"])
            diverged_step[pos] = steps[np.argmax(np.logical_or.reduce(stepped))]

    data_vars = {}
    sample = next(iter(metrics_by_config.values()))
    for name, dims in study.metric_dims.items():
        dtype = np.asarray(sample[name]).dtype
        aligned = complete and all(len(union[d]) == len(c[d]) for c in group_coords.values() for d in dims)
        if not (aligned or np.issubdtype(dtype, np.floating)):
            dtype = np.float64  # NaN must be representable for the holes
        fill = np.nan if np.issubdtype(dtype, np.floating) else 0
        full = np.full(grid.shape + tuple(len(union[d]) for d in dims), fill, dtype)
        for i, metrics in metrics_by_config.items():
            pos = np.unravel_index(i, grid.shape)
            if not dims:
                full[pos] = metrics[name]
                continue
            own = group_coords[group_of[i]]
            where = np.ix_(*[np.searchsorted(union[d], own[d]) if len(own[d]) != len(union[d]) else np.arange(len(union[d])) for d in dims])
            full[pos][where] = metrics[name]
        data_vars[name] = ((*grid.axes, *dims), full)
    ds = xr.Dataset(data_vars, coords={**{a: list(v) for a, v in grid.axes.items()}, **union})

    ds["diverged"] = ((*grid.axes,), diverged)
    if any(dims[:1] == ("step",) for n, dims in study.metric_dims.items() if n in watched):
        ds["diverged_step"] = ((*grid.axes,), diverged_step)
    docs = {f.name: f.metadata.get("doc") for f in dataclasses.fields(grid.base)}
    return annotate(ds, {
        **{axis: ("1", docs.get(axis) or axis) for axis in grid.axes},
        "diverged": ("1", "the run diverged: a divergence metric became NaN or inf (its numbers are excluded from the claims)"),
        "diverged_step": ("1", "first logged step with a non-finite divergence metric (-1: none)"),
    })


def annotate(ds: xr.Dataset, table: Mapping[str, tuple[str, str]]) -> xr.Dataset:
    """Give the variables and coordinates ``table`` names ({name: (units, long_name)}) their CF ``units``
    and ``long_name`` attributes ("1": dimensionless); names ``ds`` lacks are skipped."""
    for name, (units, long_name) in table.items():
        if name in ds.variables:
            ds.variables[name].attrs.update(units=units, long_name=long_name)
    return ds


def save_dataset(ds: xr.Dataset, path: Path, hint: str = "") -> None:
    """Write netCDF atomically (the previous file survives a failed write).

    The file is built in memory and written as bytes: HDF5 writing straight to a full disk fails inside
    its own buffers, and then h5py reports every object it frees as an exception ("Exception ignored in
    ... _dealloc") before the error reaches us; in memory nothing can fail but the one plain write."""
    data = ds.to_netcdf(engine="h5netcdf")
    atomic_write(Path(path), bytes(data), hint)


def load_dataset(path: Path) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise RoteError(f"no results at {path}; run `rote sweep` first")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:  # h5py/h5netcdf raise many types on damaged files
        raise RoteError(f"cannot read results file {path} (damaged?): {type(exc).__name__}") from None
