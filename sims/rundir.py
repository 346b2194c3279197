"""A results directory for one sweep: the writer's lock, the manifest, the chunk files, the merged result.

Layout::

    RUN_DIR/manifest.json     grid fingerprint, package version, finished chunks (file, sha256, configs)
    RUN_DIR/chunks/*.npz      one file per finished chunk
    RUN_DIR/results.nc        merged Dataset
    RUN_DIR/.lock             flock'ed by the sweep writing here (one writer at a time)

Every file is written atomically (``atomic.atomic_write``) and each chunk is recorded in the manifest with
its SHA-256 only once it is in place, so a kill at any moment loses at most the chunk in flight.

The lock is ``fcntl.flock`` on ``.lock``, held for the whole sweep: the kernel releases it when its holder
exits or is killed, so a dead sweep never blocks the next one and no stale lock has to be recognized. The
file holds ``host:pid`` of its holder, for the error message only. The holder removes it on the way out
while still holding the lock; a sweep that locks a file that is no longer (or no longer the file) at
``.lock`` tries again, so two sweeps never hold the lock at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from .atomic import atomic_write
from .devices import device_kind
from .errors import RoteError
from .grid import describe, with_new_fields
from .provenance import package_version

if TYPE_CHECKING:
    from .grid import Grid

MANIFEST_FORMAT = 1
_LEFTOVER = re.compile(r"^\.(?:.+\.tmp|write-probe)-(\d+)$")  # temp/probe files, named with their writer's pid
_CHUNK_NAME = re.compile(r"^chunk-\d+-\d+-[0-9a-f]+\.npz$")
_RESUMABLE = "; finished chunks are kept, a re-run resumes"


def sha256(data: bytes) -> str:
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
                    f"results directory {self.path} holds a different sweep ({describe(manifest.get('grid'))}); "
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

    # -- the writer's lock -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        """Hold the directory's exclusive lock for the body, or refuse in one line if a live sweep holds it."""
        fd = self._acquire()
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                self.lock_path.unlink()  # still holding the lock: nobody can take the file being removed
            os.close(fd)  # releases the flock

    def _acquire(self) -> int:
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RoteError(f"cannot write results directory {self.path}: {exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 256).decode(errors="replace").strip()
                os.close(fd)
                raise RoteError(f"results directory {self.path} is in use by another sweep (lock {owner or '?'}); wait for it or remove {self.lock_path}") from None
            except OSError as exc:
                os.close(fd)
                raise RoteError(f"cannot lock results directory {self.path}: {exc.strerror or exc}; choose an --out on a filesystem with file locks") from None
            if self._is_current(fd):
                break
            os.close(fd)  # its holder removed this file as we opened it; the next sweep's lock is a new file
        try:
            owner = f"{platform.node()}:{os.getpid()}".encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, owner, 0)
        except OSError as exc:
            self.lock_path.unlink(missing_ok=True)
            os.close(fd)
            raise RoteError(f"cannot write results directory {self.path}: {exc.strerror or exc}") from None
        return fd

    def _is_current(self, fd: int) -> bool:
        """Whether the locked file is still the one at ``.lock``."""
        try:
            here = os.stat(self.lock_path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def remove_leftovers(self, log=print) -> None:
        """Under the lock: delete what killed runs left behind, i.e. temp and probe files of other
        processes (no other sweep writes here while this one holds the lock) and chunk files the manifest
        does not list (renamed into place, but killed before the manifest recorded them; recomputed like
        any unfinished chunk)."""
        listed = {rec["file"] for rec in self.read_manifest()["chunks"]} if self.manifest_path.exists() else set()
        removed = 0
        for folder in (self.path, self.chunk_dir):
            for path in folder.iterdir() if folder.is_dir() else ():
                m = _LEFTOVER.match(path.name)
                leftover = (m is not None and int(m.group(1)) != os.getpid()) or (
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
            if sha256(data) != rec["sha256"]:
                log(f"rote: chunk {rec['file']} fails its checksum (damaged); it will be recomputed")
                continue
            good.append(rec)
        return good

    def write_chunk(self, indices: Sequence[int], metrics: Mapping[str, np.ndarray], records: list[dict], wall_s: float) -> dict:
        buf = io.BytesIO()
        np.savez(buf, __configs__=np.asarray(indices, dtype=np.int64), **metrics)
        data = buf.getvalue()
        name = f"chunk-{indices[0]:07d}-{indices[-1]:07d}-{sha256(np.asarray(indices).tobytes())[:8]}.npz"
        atomic_write(self.chunk_dir / name, data, _RESUMABLE)
        rec = {"file": name, "sha256": sha256(data), "configs": [int(i) for i in indices], "wall_s": round(wall_s, 4), "device": device_kind()}
        self.write_manifest(records + [rec])
        return rec

    def write_manifest(self, records: list[dict]) -> None:
        manifest = {"format": MANIFEST_FORMAT, "package_version": package_version(), "grid": self.fingerprint, "chunks": records}
        atomic_write(self.manifest_path, json.dumps(manifest, indent=1).encode(), _RESUMABLE)

    def load_chunk(self, rec: dict) -> dict[str, np.ndarray]:
        with np.load(self.chunk_dir / rec["file"]) as z:
            return {k: z[k] for k in z.files}
