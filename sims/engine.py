"""The sweep engine: a named grid -> chunks -> one ``jit(vmap(run))`` call each -> an xarray Dataset.

Study-agnostic. For a study, base parameters and named axes (fields of the study's params):

1. the product of the axes is flattened in C order (first axis slowest) and validated config by config
   (``grid``);
2. configs are grouped by their static fields (shapes, loop lengths): one compiled function per group;
3. each group is cut into chunks sized from device memory, padded to a fixed size (no recompiles),
   sharded over all devices along the config axis, and run as one ``jit(vmap(run))`` call; with
   several processes (``jax.distributed``, see ``init_distributed``) every process runs the same
   sweep (SPMD), the config axis is sharded over the devices of all hosts, process 0 decides which
   chunks are left and alone writes files (``devices``);
4. each finished chunk is written atomically (temp file, fsync, rename) and recorded with its SHA-256
   in ``manifest.json``; a re-run of the same sweep skips recorded chunks whose checksum matches; a
   chunk also records its own config indices and sweep, and its name holds its SHA-256, so a lost or
   damaged manifest is rebuilt from the chunks; one sweep at a time writes a directory, under a lock
   the kernel releases if it dies (``rundir``); SIGINT / SIGTERM end a sweep between writes within a
   moment (``interrupts``);
5. chunks are merged into one Dataset (one dim per axis, plus the study's metric dims) with a
   ``diverged`` flag per config, saved as netCDF with provenance in its attributes (``dataset``,
   ``provenance``). The progress bar shows an ETA from the study's cost estimate (``progress``).

This module holds the sweep itself and re-exports the names other code uses (``engine.Grid``,
``engine.load_dataset``, ``engine.run_chunk``, ...).
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

import jax
import numpy as np
import xarray as xr

from .dataset import load_dataset, merge, save_dataset
from .devices import (
    CONFIG_DIM,
    CPU_CONFIGS_PER_DEVICE,
    batched_run,
    broadcast_from_writer,
    check_memory,
    choose_chunk_size,
    device_kind,
    device_memory_budget,
    init_distributed,
    is_writer,
    key_of,
    matmul_rate,
    run_chunk,
    run_one,
    stack_params,
)
from .errors import RoteError
from .grid import MATMUL_PRECISIONS, Grid, with_new_fields
from .progress import SweepProgress
from .provenance import git_revision, package_version, provenance
from .rundir import MANIFEST_FORMAT, RunDir
from .study import Study

__all__ = [
    "CONFIG_DIM", "CPU_CONFIGS_PER_DEVICE", "MANIFEST_FORMAT", "MATMUL_PRECISIONS", "Grid", "RunDir", "batched_run",
    "check_memory", "choose_chunk_size", "device_kind", "device_memory_budget", "git_revision",
    "init_distributed", "is_writer", "key_of", "load_dataset", "merge", "package_version", "provenance", "run_chunk",
    "run_one", "save_dataset", "stack_params", "sweep", "with_new_fields",
]  # fmt: skip


def sweep(
    study: Study,
    base,
    axes: Mapping[str, Sequence],
    out_dir: Path | None = None,
    *,
    scale: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    log=None,
    matmul_precision: str | None = None,
    label: str | None = None,
) -> xr.Dataset:
    """Run (or resume) a sweep and return the merged, summarized Dataset.

    out_dir None runs in memory (nothing written, nothing resumed). In a multi-process run, processes
    other than 0 return None. ``matmul_precision`` (one of MATMUL_PRECISIONS) sets JAX's default matmul
    precision for the whole sweep and becomes part of its identity on disk (a directory made at one
    precision refuses to be resumed at another). ``label`` names the progress bar (default: the study's
    name; the CLI passes study, scale and panel).
    """
    if log is None:
        log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    t0 = time.perf_counter()
    grid = Grid.build(base, axes, matmul_precision)
    check_memory(study, grid)
    run_dir = RunDir(out_dir, study.name, grid) if out_dir is not None and is_writer() else None
    if run_dir is not None:
        run_dir.create()
    with run_dir.lock() if run_dir is not None else contextlib.nullcontext():
        if run_dir is not None:
            run_dir.check()
        precision = jax.default_matmul_precision(matmul_precision) if matmul_precision else contextlib.nullcontext()
        with precision:
            ds = _sweep_locked(study, grid, run_dir, scale, chunk_size, progress, log, t0, label or study.name)
    return ds


def _sweep_locked(study, grid, run_dir, scale, chunk_size, progress, log, t0, label):
    records = run_dir.finished_chunks(log) if run_dir is not None else []
    if run_dir is not None:
        run_dir.remove_leftovers(records, log)
    results: dict[int, dict[str, np.ndarray]] = {}
    for rec in records:
        configs, chunk = run_dir.load_chunk(rec)
        for j, i in enumerate(configs):
            results[int(i)] = {k: v[j] for k, v in chunk.items()}
    compute_s = sum(rec.get("wall_s", 0.0) for rec in records)
    done = np.zeros(len(grid), bool)
    done[list(results)] = True
    done = broadcast_from_writer(done)  # every process runs the same chunks, the ones process 0 lacks

    pending_groups = []
    for _, indices in grid.groups().items():
        todo = [i for i in indices if not done[i]]
        if todo:
            pending_groups.append(todo)
    n_todo = sum(len(t) for t in pending_groups)
    if records:
        log(f"rote: resuming {study.name}: {len(results)}/{len(grid)} configs already done in {run_dir.path}")

    cost = study.flops_per_config
    costs = {i: float(cost(grid.configs[i])) for todo in pending_groups for i in todo} if cost is not None else None
    bar = SweepProgress(label, len(grid), len(grid) - n_todo, list(costs.values()) if costs is not None else None, len(pending_groups),
                        enabled=progress and n_todo > 0, guessed_rate=matmul_rate)
    try:
        for todo in pending_groups:
            # one width per static group on this machine, whatever the grid or what is left of it, so a
            # config gives the same bits alone, in any grid, at any position, resumed or not
            size = choose_chunk_size(study, grid.configs[todo[0]], chunk_size)
            for start in range(0, len(todo), size):
                indices = todo[start : start + size]
                tc = time.perf_counter()
                try:
                    metrics = run_chunk(study, [grid.configs[i] for i in indices], size)
                except RuntimeError as exc:  # jax.errors.JaxRuntimeError
                    if "RESOURCE_EXHAUSTED" not in str(exc):
                        raise
                    raise RoteError(f"a chunk of {size} configs ran out of device memory; re-run with a smaller --chunk-size (finished chunks are kept)") from None
                wall = time.perf_counter() - tc
                compute_s += wall
                if run_dir is not None:
                    records.append(run_dir.write_chunk(indices, metrics, records, wall))
                for j, i in enumerate(indices):
                    results[i] = {k: v[j] for k, v in metrics.items()}
                bar.chunk_done(len(indices), sum(costs[i] for i in indices) if costs is not None else 0.0, wall, compiled=start == 0)
    finally:
        bar.close()

    if not is_writer():  # the other processes of a multi-process run hold only the chunks they ran
        return None
    ds = merge(study, grid, results)
    ds.attrs.update(provenance(study, scale, grid, time.perf_counter() - t0, compute_s))
    ds = study.summarize(ds)
    n_div = int(np.asarray(ds["diverged"]).sum())
    if n_div:
        log(f"rote: {n_div} config(s) diverged (non-finite metrics); flagged in the `diverged` variable")
    if run_dir is not None:
        save_dataset(ds, run_dir.results_path, "; finished chunks are kept, a re-run writes it again without computing anything")
    return ds
