"""Where a chunk runs: devices and hosts, the memory a chunk may use, the chunk size, and the one
``jit(vmap(run))`` call per chunk, sharded along the config axis over the devices of every process.

With several processes (``jax.distributed``, see ``init_distributed``) every process runs the same sweep
(SPMD): each passes the same configs, supplies the shards of its own devices and gets every result back;
process 0 alone decides which chunks are left and writes files (``is_writer``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import params as P
from .errors import RoteError

if TYPE_CHECKING:
    from .grid import Grid
    from .study import Study

CONFIG_DIM = "config"
CPU_CONFIGS_PER_DEVICE = 2  # the fixed CPU chunk width per device (choose_chunk_size)

# --------------------------------------------------------------------------------------------------
# Processes and devices
# --------------------------------------------------------------------------------------------------


def init_distributed() -> bool:
    """Join a multi-process run if the environment asks for one; True if this is one.

    ``ROTE_NUM_PROCESSES`` > 1 with ``ROTE_COORDINATOR`` (host:port of process 0) and ``ROTE_PROCESS_ID``
    (0..N-1): ``jax.distributed.initialize`` with those values. ``ROTE_DISTRIBUTED=auto``: JAX's own cluster
    detection (SLURM, Open MPI, TPU pods, JAX_COORDINATOR_ADDRESS...). Otherwise nothing happens (one
    process). Must run before any JAX computation; a bad value is a one-line error.
    """
    n = os.environ.get("ROTE_NUM_PROCESSES")
    if os.environ.get("ROTE_DISTRIBUTED") == "auto":
        jax.distributed.initialize()
        return jax.process_count() > 1
    if not n or n == "1":
        return False
    try:
        n_proc, pid = int(n), int(os.environ["ROTE_PROCESS_ID"])
        coordinator = os.environ["ROTE_COORDINATOR"]
    except (KeyError, ValueError) as exc:
        raise RoteError(f"ROTE_NUM_PROCESSES={n} needs ROTE_COORDINATOR=host:port and an integer ROTE_PROCESS_ID ({exc})") from None
    if not 0 <= pid < n_proc:
        raise RoteError(f"ROTE_PROCESS_ID must be in [0, {n_proc}), got {pid}")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=n_proc, process_id=pid)
    return True


def is_writer() -> bool:
    """Process 0 of a multi-process run (or the only process) reads and writes the run directory."""
    return jax.process_index() == 0


def broadcast_from_writer(values: np.ndarray) -> np.ndarray:
    """Process 0's array on every process (identity with one process)."""
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(values))


def device_kind() -> str:
    """'1x cpu', '8x NVIDIA H100 80GB HBM3', '2x cpu on 2 processes': recorded per chunk and per result."""
    devs = jax.devices()
    hosts = f" on {jax.process_count()} processes" if jax.process_count() > 1 else ""
    return f"{len(devs)}x {devs[0].device_kind}{hosts}"


# --------------------------------------------------------------------------------------------------
# Memory and chunk size
# --------------------------------------------------------------------------------------------------


def device_memory_budget(fraction: float = 0.5) -> int:
    """Bytes of device memory a chunk may use: a fraction of the first local device's limit."""
    dev = jax.local_devices()[0]
    try:
        stats = dev.memory_stats() or {}
        limit = stats.get("bytes_limit")
    except Exception:
        limit = None
    if not limit:  # CPU: physical memory
        try:
            limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            limit = 8 << 30
    return int(limit * fraction)


def check_memory(study: Study, grid: Grid) -> None:
    """Refuse, before anything runs or is written, a config whose own memory estimate exceeds the whole
    device (it could only end in an out-of-memory crash)."""
    limit = device_memory_budget(fraction=1.0)
    for indices in grid.groups().values():
        cfg = grid.configs[indices[0]]
        need = study.bytes_per_config(cfg)
        if need > limit:
            statics = ", ".join(f"{s}={getattr(cfg, s)}" for s in P.static_fields(cfg))
            raise RoteError(f"one config ({statics}) needs about {need / 2**30:.3g} GiB of memory, more than the {limit / 2**30:.3g} GiB of {device_kind()}")


def choose_chunk_size(study: Study, example_params, requested: int | None = None) -> int:
    """Configs per chunk for one static group: the request, else as many as fit the memory budget,
    rounded up to a multiple of the device count (all hosts' devices).

    The width depends on the machine and the static group only, never on how many configs the grid
    holds: a batched kernel rounds differently at another width, and chaotic training amplifies the
    last bit, so a config must always run at the same width to give the same numbers alone, in any
    grid, at any position, resumed or not. Groups smaller than the width are padded.

    On CPU the width is 2 configs per device: one config's matmuls already occupy every core, so a
    wider vmap only adds cache pressure and, at a fixed width, padding. Measured on 2 cores (seconds
    per config at width 1 / 2 / 4, interleaved rounds): grokking quick 1.90 / 1.73 / 1.68, attention
    quick (T 256) 1.22 / 0.36 / 0.49; padding of the quick panels at width 2 / 4: 2.5 / 23 % (grokking),
    1.4 / 9.6 % (attention)."""
    n_dev = jax.device_count()
    if requested is not None:
        size = requested
    else:
        size = max(1, device_memory_budget() // max(1, study.bytes_per_config(example_params))) * n_dev // jax.local_device_count()
        if jax.default_backend() == "cpu":
            size = min(size, CPU_CONFIGS_PER_DEVICE * n_dev)
        size = min(size, 4096)
    return max(n_dev, -(-size // n_dev) * n_dev)


@functools.cache
def matmul_rate() -> float:
    """FLOP/s of an fp32 matmul on the first device times the device count (the progress bar's guess of
    what a sweep can reach before its first chunk is timed; a tenth of a second to measure)."""
    import time

    import jax.numpy as jnp

    n = 1024 if jax.default_backend() == "cpu" else 4096
    x = jnp.ones((n, n), jnp.float32)
    product = jax.jit(lambda a: a @ a)
    product(x).block_until_ready()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        product(x).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / max(best, 1e-9) * jax.device_count()


# --------------------------------------------------------------------------------------------------
# One chunk: jit(vmap(run)), sharded over the devices
# --------------------------------------------------------------------------------------------------


def stack_params(configs: Sequence) -> Any:
    """Stack configs of one static group into one params pytree with (C,) arrays in traced fields."""
    first = configs[0]
    leaves = {name: np.asarray([getattr(c, name) for c in configs]) for name in P.traced_fields(first)}
    stacked = object.__new__(type(first))
    for f in dataclasses.fields(first):
        object.__setattr__(stacked, f.name, leaves.get(f.name, getattr(first, f.name)))
    return stacked


def key_of(seed) -> jax.Array:
    """The config's PRNG key: derived from its ``seed`` field alone (not from its place in a chunk)."""
    return jax.random.PRNGKey(seed)


def run_one(study: Study, params) -> dict[str, np.ndarray]:
    """Run a single config without vmap (the reference a vmapped chunk must match)."""
    out = jax.jit(study.run)(params, key_of(params.seed))
    return jax.tree_util.tree_map(np.asarray, out)


@functools.cache
def batched_run(run):
    """jit(vmap(run)) with per-config keys; cached per run function (jit then caches per static group)."""

    def batched(stacked):
        keys = jax.vmap(key_of)(stacked.seed)
        return jax.vmap(run)(stacked, keys)

    return jax.jit(batched)


def run_chunk(study: Study, configs: Sequence, chunk_size: int) -> dict[str, np.ndarray]:
    """Run configs (one static group) as one jit(vmap(run)) call, padded to ``chunk_size`` and sharded
    over all devices (of every process in a multi-process run; each process passes the same configs
    and gets every result back). Returns numpy arrays with a leading axis of len(configs)."""
    n = len(configs)
    padded = list(configs) + [configs[-1]] * (chunk_size - n)
    stacked = stack_params(padded)
    devices = jax.devices()
    if len(devices) > 1:
        sharding = NamedSharding(Mesh(np.array(devices), (CONFIG_DIM,)), PartitionSpec(CONFIG_DIM))
        if jax.process_count() > 1:  # each process supplies the shards of its own devices
            stacked = jax.tree_util.tree_map(lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda idx, x=np.asarray(x): x[idx]), stacked)
        else:
            stacked = jax.tree_util.tree_map(lambda x: jax.device_put(x, sharding), stacked)
    out = batched_run(study.run)(stacked)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        out = multihost_utils.process_allgather(out, tiled=True)
    return {k: np.asarray(v)[:n] for k, v in out.items()}
