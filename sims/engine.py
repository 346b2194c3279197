"""The sweep engine: a named grid -> chunks -> one ``jit(vmap(run))`` call each -> an xarray Dataset.

Study-agnostic. For a study, base parameters and named axes (fields of the study's params):

1. the product of the axes is flattened in C order (first axis slowest) and validated config by config;
2. configs are grouped by their static fields (shapes, loop lengths): one compiled function per group;
3. each group is cut into chunks sized from device memory, padded to a fixed size (no recompiles),
   sharded over all devices along the config axis, and run as one ``jit(vmap(run))`` call; with
   several processes (``jax.distributed``, see ``init_distributed``) every process runs the same
   sweep (SPMD), the config axis is sharded over the devices of all hosts, process 0 decides which
   chunks are left and alone writes files;
4. each finished chunk is written atomically (temp file, fsync, rename) and recorded with its SHA-256
   in ``manifest.json``; a re-run of the same sweep skips recorded chunks whose checksum matches;
5. chunks are merged into one Dataset (one dim per axis, plus the study's metric dims) with a
   ``diverged`` flag per config, saved as netCDF with provenance in its attributes.

Run directory layout::

    RUN_DIR/manifest.json     grid fingerprint, package version, finished chunks (file, sha256, configs)
    RUN_DIR/chunks/*.npz      one file per finished chunk
    RUN_DIR/results.nc        merged Dataset
    RUN_DIR/.lock             held while a sweep writes here (one writer at a time)
"""

from __future__ import annotations

import contextlib
import functools
import dataclasses
import hashlib
import io
import itertools
import json
import numbers
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import params as P
from .errors import ConfigError, RoteError
from .study import Study

MANIFEST_FORMAT = 1
CONFIG_DIM = "config"
CPU_CONFIGS_PER_DEVICE = 4
# jax_default_matmul_precision values: 'float32' (full fp32), 'tensorfloat32' (TF32 tensor cores on
# NVIDIA Ampere and later), 'bfloat16' (one bf16 pass). XLA on CPU computes fp32 whatever is asked
# (measured here: identical products), so the choice matters on GPUs and TPUs.
MATMUL_PRECISIONS = ("float32", "tensorfloat32", "bfloat16")
LOCK_EMPTY_GRACE_S = 10.0  # an empty lock file older than this was left by a process killed while creating it
_LEFTOVER = re.compile(r"^\.(?:.+\.tmp|write-probe)-(\d+)$")  # temp/probe files, named with their writer's pid
_CHUNK_NAME = re.compile(r"^chunk-\d+-\d+-[0-9a-f]+\.npz$")


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("rote")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --------------------------------------------------------------------------------------------------
# Grid
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A validated product of named axes around base parameters.

    configs[i] is the params of flat index i (C order over ``axes``).
    """

    base: Any
    axes: Mapping[str, tuple]
    configs: tuple
    matmul_precision: str | None = None  # None: JAX's default; else part of the sweep's identity on disk

    @classmethod
    def build(cls, base, axes: Mapping[str, Sequence], matmul_precision: str | None = None) -> "Grid":
        if matmul_precision is not None and matmul_precision not in MATMUL_PRECISIONS:
            raise RoteError(f"matmul precision must be one of {', '.join(MATMUL_PRECISIONS)}, got {matmul_precision!r}")
        names = {f.name for f in dataclasses.fields(base)}
        unknown = [a for a in axes if a not in names]
        if unknown:
            raise RoteError(f"unknown grid axis {unknown[0]!r} for {type(base).__name__}; known: {', '.join(sorted(names))}")
        norm = {}
        for name, values in axes.items():
            values = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
            if not values:
                raise RoteError(f"grid axis {name!r} has no values")
            if len(set(values)) != len(values):
                raise RoteError(f"grid axis {name!r} repeats a value: {values}")
            norm[name] = values
        configs = tuple(P.replace(base, **dict(zip(norm, combo))) for combo in itertools.product(*norm.values()))
        for name in P.traced_fields(base):
            for value in {getattr(base, name)} | set(norm.get(name, ())):
                _check_representable(name, value)
        return cls(base, norm, configs, matmul_precision)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def __len__(self) -> int:
        return len(self.configs)

    def fingerprint(self, study: str) -> dict:
        """What identifies this sweep on disk: the study, every base parameter and the axes."""
        fp = {"study": study, "params_type": type(self.base).__name__, "base": _jsonable(P.as_dict(self.base)), "axes": _jsonable(dict(self.axes))}
        if self.matmul_precision is not None:
            fp["matmul_precision"] = self.matmul_precision
        return fp

    def groups(self) -> dict[tuple, list[int]]:
        """Flat indices grouped by the values of the static fields (one compiled function each)."""
        out: dict[tuple, list[int]] = {}
        statics = P.static_fields(self.base)
        for i, cfg in enumerate(self.configs):
            out.setdefault(tuple(getattr(cfg, s) for s in statics), []).append(i)
        return out


def _check_representable(name: str, value) -> None:
    """A traced value is cast to JAX's working dtype (float32 / int32 unless x64 is enabled); refuse a value
    the cast would silently turn into inf, 0, a subnormal or a wrapped integer (never clamp silently)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return
    if isinstance(value, numbers.Integral):
        target = jax.dtypes.canonicalize_dtype(np.int64)
        info = np.iinfo(target)
        if not info.min <= int(value) <= info.max:
            raise ConfigError(f"{name} {value} does not fit {target.name}, the integer type JAX computes in here (range {info.min}..{info.max})")
        return
    target = jax.dtypes.canonicalize_dtype(np.float64)
    x = float(value)
    with np.errstate(over="ignore", under="ignore"):
        cast = np.asarray(x).astype(target)
    info = np.finfo(target)
    if np.isfinite(x) and (not np.isfinite(cast) or (x != 0 and abs(cast) < info.tiny)):
        raise ConfigError(
            f"{name} {value!r} is outside the range of {target.name}, the precision JAX computes in here "
            f"(|value| in [{info.tiny:.3g}, {info.max:.3g}] or 0); it would silently become {float(cast)!r}"
        )


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))


# --------------------------------------------------------------------------------------------------
# Running chunks
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
def _batched_run(run):
    """jit(vmap(run)) with per-config keys; cached per run function (jit then caches per static group)."""

    def batched(stacked):
        keys = jax.vmap(key_of)(stacked.seed)
        return jax.vmap(run)(stacked, keys)

    return jax.jit(batched)


# --------------------------------------------------------------------------------------------------
# Several hosts (jax.distributed)
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


def _broadcast_from_writer(values: np.ndarray) -> np.ndarray:
    """Process 0's array on every process (identity with one process)."""
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(values))


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


def choose_chunk_size(study: Study, example_params, n_configs: int, requested: int | None = None) -> int:
    """Configs per chunk: the request, else as many as fit the memory budget, rounded to a multiple of
    the device count (all hosts' devices).

    On CPU the cap is 4 configs per device: one config's matmuls already occupy every core, so a wider
    vmap only adds cache pressure. Measured on 2 cores (grokking quick sweep, 120 configs): chunk 2 /
    4 / 8 / 16 / 30 took 74 / 71 / 88 / 101 / 100 s; at paper size (p 97, N 500) x4 was within 3 % of
    the best per config-step.

    Without a request the chunks are balanced: the fewest chunks that fit the cap, made as narrow as
    they can be, so the last one is not mostly padding (6 configs under a cap of 4: 2 chunks of 3, not
    4 + 2 padded to 4; the grokking quick panels paid for 25-60 % padded slots in several groups)."""
    n_dev = jax.device_count()
    if requested is not None:
        size = requested
    else:
        size = max(1, device_memory_budget() // max(1, study.bytes_per_config(example_params))) * n_dev // jax.local_device_count()
        if jax.default_backend() == "cpu":
            size = min(size, CPU_CONFIGS_PER_DEVICE * n_dev)
        size = min(size, 4096)
        size = -(-n_configs // -(-n_configs // size))  # balanced: ceil(n / number of chunks)
    size = min(size, n_configs)
    return max(n_dev, -(-size // n_dev) * n_dev)


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
    out = _batched_run(study.run)(stacked)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        out = multihost_utils.process_allgather(out, tiled=True)
    return {k: np.asarray(v)[:n] for k, v in out.items()}


# --------------------------------------------------------------------------------------------------
# Storage: atomic chunk files and the manifest
# --------------------------------------------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temp file beside ``path``, fsync, rename. On failure (disk full, read-only, permissions) ``path`` is
    untouched, the temp file is removed and the error is one line (RoteError), not a traceback."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise RoteError(f"cannot write {path}: {exc.strerror or exc}; finished chunks are kept, a re-run resumes") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RunDir:
    """A results directory for one sweep: lock, manifest, chunk files, merged result."""

    def __init__(self, path: Path, study: str, grid: Grid):
        self.path = Path(path)
        self.fingerprint = grid.fingerprint(study)
        self.params_type = type(grid.base)
        self.n_configs = len(grid)
        self.manifest_path = self.path / "manifest.json"
        self.chunk_dir = self.path / "chunks"
        self.results_path = self.path / "results.nc"
        self.lock_path = self.path / ".lock"

    # -- checks ------------------------------------------------------------------------------------
    def create(self) -> None:
        """Create the directory, or fail with a one-line error if it cannot be written."""
        try:
            self.chunk_dir.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink(missing_ok=True)
        except OSError as exc:
            raise RoteError(f"cannot write results directory {self.path}: {exc.strerror or exc}") from None

    def check(self) -> None:
        """Refuse a directory that holds another sweep or another package version's results."""
        if self.manifest_path.exists():
            manifest = self.read_manifest()
            if with_new_fields(manifest.get("grid"), self.params_type) != self.fingerprint:
                raise RoteError(
                    f"results directory {self.path} holds a different sweep ({_describe(manifest.get('grid'))}); "
                    "choose another --out or remove it"
                )
            if manifest.get("package_version") != package_version():
                raise RoteError(
                    f"results directory {self.path} was written by rote {manifest.get('package_version')}, this is "
                    f"{package_version()}; choose another --out or remove it"
                )

    def read_manifest(self) -> dict:
        try:
            manifest = json.loads(self.manifest_path.read_text())
            if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("chunks"), list):
                raise ValueError("unexpected structure")
            for rec in manifest["chunks"]:
                if not (
                    isinstance(rec, dict)
                    and isinstance(rec.get("file"), str)
                    and _CHUNK_NAME.match(rec["file"])
                    and isinstance(rec.get("sha256"), str)
                    and isinstance(rec.get("configs"), list)
                    and rec["configs"]
                    and all(type(i) is int for i in rec["configs"])
                ):
                    raise ValueError(f"malformed chunk record {str(rec)[:80]}")
            return manifest
        except (OSError, ValueError) as exc:
            raise RoteError(f"corrupted manifest {self.manifest_path}: {exc}; move it away to start over") from None

    @contextlib.contextmanager
    def lock(self):
        """Exclusive writer lock; a lock left by a dead process on this host is taken over."""
        for _ in range(3):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                break
            except FileExistsError:
                if self._remove_stale_lock():
                    continue
                owner = _read_text(self.lock_path)
                raise RoteError(f"results directory {self.path} is in use by another sweep (lock {owner or '?'}); wait for it or remove {self.lock_path}") from None
            except OSError as exc:
                raise RoteError(f"cannot write results directory {self.path}: {exc.strerror or exc}") from None
        else:
            raise RoteError(f"could not take the lock {self.lock_path}")
        try:
            os.write(fd, f"{platform.node()}:{os.getpid()}".encode())
            os.close(fd)
            yield
        finally:
            self.lock_path.unlink(missing_ok=True)

    def _remove_stale_lock(self) -> bool:
        """Remove the lock if it was left by a dead process on this host (or is empty and old: killed
        between creating and writing it). Serialized by a flock on the directory and re-read under it, so
        that two sweeps finding the same stale lock cannot both take it (the slower one would otherwise
        delete the faster one's fresh lock). True if the lock is gone (try again)."""
        with _dir_flock(self.path):
            try:
                age = time.time() - self.lock_path.stat().st_mtime
                owner = self.lock_path.read_text().strip()
            except FileNotFoundError:
                return True
            except OSError:
                return False
            host, _, pid = owner.partition(":")
            stale = (host == platform.node() and pid.isdigit() and not _pid_alive(int(pid))) or (not owner and age > LOCK_EMPTY_GRACE_S)
            if stale:
                self.lock_path.unlink(missing_ok=True)
            return stale

    def remove_leftovers(self, log=print) -> None:
        """Under the lock: delete what killed runs left behind, i.e. temp and probe files of dead processes and
        chunk files the manifest does not list (renamed into place, but killed before the manifest
        recorded them; recomputed like any unfinished chunk)."""
        listed = {rec["file"] for rec in self.read_manifest()["chunks"]} if self.manifest_path.exists() else set()
        removed = 0
        for folder in (self.path, self.chunk_dir):
            for path in folder.iterdir() if folder.is_dir() else ():
                m = _LEFTOVER.match(path.name)
                leftover = (m is not None and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1)))) or (
                    folder == self.chunk_dir and _CHUNK_NAME.match(path.name) is not None and path.name not in listed
                )
                if leftover and path.is_file():
                    with contextlib.suppress(OSError):
                        path.unlink()
                        removed += 1
        if removed:
            log(f"rote: removed {removed} leftover file(s) of an interrupted run in {self.path}")

    # -- chunks ------------------------------------------------------------------------------------
    def finished_chunks(self, log=print) -> list[dict]:
        """Manifest records whose chunk file exists with the recorded checksum; others are reported."""
        if not self.manifest_path.exists():
            return []
        good = []
        records = self.read_manifest()["chunks"]
        seen = [i for rec in records for i in rec["configs"]]
        if len(set(seen)) != len(seen) or not all(0 <= i < self.n_configs for i in seen):
            raise RoteError(f"corrupted manifest {self.manifest_path}: chunk records overlap or leave the grid; move it away to start over")
        for rec in records:
            path = self.chunk_dir / rec["file"]
            try:
                data = path.read_bytes()
            except OSError:
                log(f"rote: chunk {rec['file']} is missing; it will be recomputed")
                continue
            if _sha256(data) != rec["sha256"]:
                log(f"rote: chunk {rec['file']} fails its checksum (damaged); it will be recomputed")
                continue
            good.append(rec)
        return good

    def write_chunk(self, indices: Sequence[int], metrics: Mapping[str, np.ndarray], records: list[dict], wall_s: float) -> dict:
        buf = io.BytesIO()
        np.savez(buf, __configs__=np.asarray(indices, dtype=np.int64), **metrics)
        data = buf.getvalue()
        name = f"chunk-{indices[0]:07d}-{indices[-1]:07d}-{_sha256(np.asarray(indices).tobytes())[:8]}.npz"
        _atomic_write_bytes(self.chunk_dir / name, data)
        rec = {"file": name, "sha256": _sha256(data), "configs": [int(i) for i in indices], "wall_s": round(wall_s, 4), "device": _device_kind()}
        self.write_manifest(records + [rec])
        return rec

    def write_manifest(self, records: list[dict]) -> None:
        manifest = {"format": MANIFEST_FORMAT, "package_version": package_version(), "grid": self.fingerprint, "chunks": records}
        _atomic_write_bytes(self.manifest_path, json.dumps(manifest, indent=1).encode())

    def load_chunk(self, rec: dict) -> dict[str, np.ndarray]:
        with np.load(self.chunk_dir / rec["file"]) as z:
            return {k: z[k] for k in z.files}


def with_new_fields(saved, params_type) -> dict:
    """A saved grid fingerprint read with today's parameter type: base fields the type gained since the
    results were written take their defaults (the value the old code had built in), so a study that
    grows a new option does not orphan finished results. Anything else is returned unchanged; a
    field that was removed or renamed, or an axis, still makes the sweeps differ."""
    if not (isinstance(saved, dict) and isinstance(saved.get("base"), dict) and dataclasses.is_dataclass(params_type)):
        return saved
    if saved.get("params_type") != params_type.__name__:
        return saved
    added = {f.name: f.default for f in dataclasses.fields(params_type) if f.name not in saved["base"] and f.name not in saved.get("axes", {})}
    if not added or any(v is dataclasses.MISSING for v in added.values()):
        return saved
    return {**saved, "base": {**saved["base"], **_jsonable(added)}}


def _describe(fp) -> str:
    if not isinstance(fp, dict):
        return "unreadable grid"
    axes = fp.get("axes", {})
    return f"study {fp.get('study')}, axes " + ", ".join(f"{k}[{len(v)}]" for k, v in axes.items())


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@contextlib.contextmanager
def _dir_flock(path: Path):
    """Exclusive flock on a directory (released by the kernel if the holder dies); no-op where unsupported."""
    try:
        import fcntl

        fd = os.open(path, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _device_kind() -> str:
    devs = jax.devices()
    hosts = f" on {jax.process_count()} processes" if jax.process_count() > 1 else ""
    return f"{len(devs)}x {devs[0].device_kind}{hosts}"


# --------------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------------


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
    return ds


def provenance(study: Study, scale: str | None, grid: Grid, wall_s: float, chunk_wall_s: float) -> dict[str, str | float | int]:
    """netCDF attributes: the full configuration, versions and where and how long it ran."""
    return {
        "study": study.name,
        "scale": scale or "custom",
        "config": json.dumps(grid.fingerprint(study.name)),
        "n_configs": len(grid),
        "package_version": package_version(),
        "git_revision": git_revision(),
        "jax_version": jax.__version__,
        "python_version": sys.version.split()[0],
        "device": _device_kind(),
        "backend": jax.default_backend(),
        "matmul_precision": grid.matmul_precision or "default",
        "wall_time_s": round(wall_s, 3),
        "compute_time_s": round(chunk_wall_s, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def save_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write netCDF atomically (the previous file survives a failed write)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except OSError as exc:
        raise RoteError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def load_dataset(path: Path) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise RoteError(f"no results at {path}; run `rote sweep` first")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:  # h5py/h5netcdf raise many types on damaged files
        raise RoteError(f"cannot read results file {path} (damaged?): {type(exc).__name__}") from None


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------


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
) -> xr.Dataset:
    """Run (or resume) a sweep and return the merged, summarized Dataset.

    out_dir None runs in memory (nothing written, nothing resumed). In a multi-process run, processes
    other than 0 return None. ``matmul_precision`` (one of MATMUL_PRECISIONS) sets JAX's default matmul
    precision for the whole sweep and becomes part of its identity on disk (a directory made at one
    precision refuses to be resumed at another).
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
            ds = _sweep_locked(study, grid, run_dir, scale, chunk_size, progress, log, t0)
    return ds


def check_memory(study: Study, grid: Grid) -> None:
    """Refuse, before anything runs or is written, a config whose own memory estimate exceeds the whole
    device (it could only end in an out-of-memory crash)."""
    limit = device_memory_budget(fraction=1.0)
    for indices in grid.groups().values():
        cfg = grid.configs[indices[0]]
        need = study.bytes_per_config(cfg)
        if need > limit:
            statics = ", ".join(f"{s}={getattr(cfg, s)}" for s in P.static_fields(cfg))
            raise RoteError(f"one config ({statics}) needs about {need / 2**30:.3g} GiB of memory, more than the {limit / 2**30:.3g} GiB of {_device_kind()}")


def _sweep_locked(study, grid, run_dir, scale, chunk_size, progress, log, t0):
    from tqdm.auto import tqdm

    records = run_dir.finished_chunks(log) if run_dir is not None else []
    if run_dir is not None:
        run_dir.remove_leftovers(log)
    results: dict[int, dict[str, np.ndarray]] = {}
    for rec in records:
        chunk = run_dir.load_chunk(rec)
        for j, i in enumerate(chunk["__configs__"]):
            results[int(i)] = {k: v[j] for k, v in chunk.items() if k != "__configs__"}
    compute_s = sum(rec.get("wall_s", 0.0) for rec in records)
    done = np.zeros(len(grid), bool)
    done[list(results)] = True
    done = _broadcast_from_writer(done)  # every process runs the same chunks, the ones process 0 lacks

    pending_groups = []
    for _, indices in grid.groups().items():
        todo = [i for i in indices if not done[i]]
        if todo:
            pending_groups.append((todo, len(indices)))
    n_todo = sum(len(t) for t, _ in pending_groups)
    if records:
        log(f"rote: resuming {study.name}: {len(results)}/{len(grid)} configs already done in {run_dir.path}")

    bar = tqdm(total=len(grid), initial=len(results), unit="config", desc=f"{study.name} sweep", disable=not progress or n_todo == 0, file=sys.stderr, dynamic_ncols=True)
    try:
        for todo, group_size in pending_groups:
            # sized from the whole group, not from what is left: a resumed chunk then has the same width
            # (same compiled function, same padding) as in an uninterrupted run, so equal bit for bit
            size = choose_chunk_size(study, grid.configs[todo[0]], group_size, chunk_size)
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
                bar.update(len(indices))
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
        save_dataset(ds, run_dir.results_path)
    return ds
