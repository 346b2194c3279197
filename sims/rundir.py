"""A results directory for one sweep: the writer's lock, the manifest, the chunk files, the merged result.

Layout::

    RUN_DIR/manifest.json     grid fingerprint, package version, finished chunks (file, sha256, configs)
    RUN_DIR/chunks/chunk-FIRST-LAST-SHA256.npz
                              one file per finished chunk: its metrics, its config indices
                              (``__configs__``) and its own record (``__record__``: the grid fingerprint,
                              package version, device); the name holds the SHA-256 of the file's
                              bytes, so a chunk can be verified without the manifest
    RUN_DIR/results.nc        merged Dataset
    RUN_DIR/.lock             flock'ed by the sweep writing here (one writer at a time)

Every file is written atomically (``atomic.atomic_write``) and each chunk is recorded in the manifest with
its SHA-256 only once it is in place, so a kill at any moment loses at most the chunk in flight.

A manifest that is missing or damaged (unreadable, malformed, inconsistent records) is rebuilt from the
chunk files themselves: a chunk is adopted if its bytes hash to the digest in its name and its own
record names this sweep (same grid fingerprint and package version); damaged chunks are recomputed.
If a chunk belongs to another sweep or version, or predates self-verifying names, the directory is
refused and left as it is. The damaged manifest is kept beside the new one as
``manifest.json.damaged-TIME``.

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
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from . import interrupts
from .atomic import atomic_write, write_error
from .devices import device_kind
from .errors import RoteError
from .grid import describe, with_new_fields
from .provenance import package_version

if TYPE_CHECKING:
    from .grid import Grid

MANIFEST_FORMAT = 1
_LEFTOVER = re.compile(r"^\.(?:.+\.tmp|write-probe)-(\d+)$")  # temp/probe files, named with their writer's pid
# chunk-FIRST-LAST-DIGEST.npz: DIGEST is the SHA-256 of the file (64 hex); 8 hex in chunks written
# before chunks verified themselves (a hash of the indices: these need the manifest)
_CHUNK_NAME = re.compile(r"^chunk-\d+-\d+-([0-9a-f]{64}|[0-9a-f]{8})\.npz$")
_RESUMABLE = "; finished chunks are kept, a re-run resumes"
CONFIGS_KEY, RECORD_KEY = "__configs__", "__record__"


class _DamagedManifest(Exception):
    """The manifest cannot be trusted (the reason is the message)."""


def _own_digest(name: str) -> str | None:
    """The SHA-256 a chunk file's name holds, or None for a name that holds none."""
    m = _CHUNK_NAME.match(name)
    return m.group(1) if m and len(m.group(1)) == 64 else None


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
        """Refuse a directory that holds another sweep or another package version's results. A damaged
        manifest is no refusal: ``finished_chunks`` rebuilds it and checks the chunks' own records."""
        try:
            manifest = self._read_manifest()
        except _DamagedManifest:
            return
        if manifest is None:
            return
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
        """The manifest, or a one-line ``corrupted manifest`` error."""
        try:
            manifest = self._read_manifest()
        except _DamagedManifest as exc:
            raise RoteError(f"corrupted manifest {self.manifest_path}: {exc}") from None
        if manifest is None:
            raise RoteError(f"no manifest at {self.manifest_path}")
        return manifest

    def _read_manifest(self) -> dict | None:
        """The parsed manifest; None if there is none; _DamagedManifest if it cannot be trusted."""
        try:
            text = self.manifest_path.read_text()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise _DamagedManifest(f"unreadable ({exc})") from None
        try:
            manifest = json.loads(text)
        except ValueError as exc:
            raise _DamagedManifest(f"not JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("chunks"), list):
            raise _DamagedManifest("unexpected structure")
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
                raise _DamagedManifest(f"malformed chunk record {str(rec)[:80]}")
        seen = [i for rec in manifest["chunks"] for i in rec["configs"]]
        if len(set(seen)) != len(seen) or not all(0 <= i < self.n_configs for i in seen):
            raise _DamagedManifest("chunk records overlap or leave the grid")
        return manifest

    # -- the writer's lock -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        """Hold the directory's exclusive lock for the body, or refuse in one line if a live sweep holds it."""
        fd = self._acquire()
        interrupts.register_lock(self.lock_path)  # a signal's exit removes it the same way
        try:
            yield
        finally:
            interrupts.unregister_lock(self.lock_path)
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

    def remove_leftovers(self, records: list[dict], log=print) -> None:
        """Under the lock: delete what killed runs left behind, i.e. temp and probe files of other
        processes (no other sweep writes here while this one holds the lock), and chunk files that are not
        among the verified ``records`` (renamed into place but killed before the manifest recorded them,
        or damaged; recomputed like any unfinished chunk)."""
        listed = {rec["file"] for rec in records}
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
        """Manifest records whose chunk file exists with the recorded checksum; others are reported. A
        missing or damaged manifest is rebuilt from the chunk files' own records (``_rebuild``)."""
        try:
            manifest = self._read_manifest()
        except _DamagedManifest as exc:
            return self._rebuild(f"corrupted manifest {self.manifest_path} ({exc})", log)
        if manifest is None:
            if self.chunk_dir.is_dir() and any(_CHUNK_NAME.match(p.name) for p in self.chunk_dir.iterdir()):
                return self._rebuild(f"no manifest in {self.path}", log)
            return []
        good = []
        for rec in manifest["chunks"]:
            path = self.chunk_dir / rec["file"]
            try:
                data = path.read_bytes()
            except OSError:
                log(f"rote: chunk {rec['file']} is missing; it will be recomputed")
                continue
            digest = sha256(data)
            if digest != rec["sha256"] or _own_digest(rec["file"]) not in (None, digest):
                log(f"rote: chunk {rec['file']} fails its checksum (damaged); it will be recomputed")
                continue
            good.append(rec)
        return good

    def _rebuild(self, problem: str, log) -> list[dict]:
        """Records of the chunk files that verify themselves (digest in the name) and belong to this sweep,
        written as a new manifest (the damaged one kept beside it); or a refusal that changes nothing."""
        adopted, taken, foreign, unverifiable = [], set(), [], []
        files = sorted(p for p in self.chunk_dir.iterdir() if _CHUNK_NAME.match(p.name)) if self.chunk_dir.is_dir() else []
        for path in files:
            digest = _own_digest(path.name)
            if digest is None:
                unverifiable.append(path.name)
                continue
            try:
                data = path.read_bytes()
                if sha256(data) != digest:
                    raise ValueError("checksum")
                with np.load(io.BytesIO(data)) as z:
                    configs = [int(i) for i in z[CONFIGS_KEY]]
                    record = json.loads(str(z[RECORD_KEY]))
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                log(f"rote: chunk {path.name} fails its checksum (damaged); it will be recomputed")
                continue
            if with_new_fields(record.get("grid"), self.params_type) != self.fingerprint or record.get("package_version") != package_version():
                foreign.append(path.name)
                continue
            if not configs or not all(0 <= i < self.n_configs for i in configs) or taken & set(configs):
                continue  # covers configs already adopted: removed below as a leftover
            taken |= set(configs)
            adopted.append({"file": path.name, "sha256": digest, "configs": configs, "wall_s": 0.0,  # not recorded in the chunk
                            "device": record.get("device", "?")})
        if foreign:
            raise RoteError(f"{problem}; chunks/ holds {len(foreign)} chunk(s) of another sweep or rote version (e.g. {foreign[0]}), "
                            "so it cannot be rebuilt as this sweep: choose another --out (nothing was changed)")
        if unverifiable:
            raise RoteError(f"{problem}; {len(unverifiable)} chunk file(s) written by an older rote (e.g. {unverifiable[0]}) hold no checksum "
                            f"of their own and cannot be verified without it: move {self.path} away (nothing was changed) and re-run")
        kept = ""
        if self.manifest_path.exists():
            damaged = self.manifest_path.with_name(f"manifest.json.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.manifest_path, damaged)
            except OSError as exc:
                raise write_error(damaged, exc, _RESUMABLE) from None
            kept = f"; the damaged one is kept as {damaged.name}"
        self.write_manifest(adopted)
        log(f"rote: {problem}: rebuilt the manifest from {len(adopted)} verified chunk(s), {len(taken)} config(s){kept}")
        return adopted

    def write_chunk(self, indices: Sequence[int], metrics: Mapping[str, np.ndarray], records: list[dict], wall_s: float) -> dict:
        """Write one finished chunk (its metrics, indices and own record) and record it in the manifest."""
        # the chunk's own record holds nothing that varies between runs (its wall time is in the manifest
        # only), so the same configs computed again on the same machine give the same bytes and name
        own = {"grid": self.fingerprint, "package_version": package_version(), "device": device_kind()}
        buf = io.BytesIO()
        np.savez(buf, **{CONFIGS_KEY: np.asarray(indices, dtype=np.int64), RECORD_KEY: np.asarray(json.dumps(own))}, **metrics)
        data = buf.getvalue()
        digest = sha256(data)
        name = f"chunk-{indices[0]:07d}-{indices[-1]:07d}-{digest}.npz"
        atomic_write(self.chunk_dir / name, data, _RESUMABLE)
        rec = {"file": name, "sha256": digest, "configs": [int(i) for i in indices], "wall_s": round(wall_s, 4), "device": own["device"]}
        self.write_manifest(records + [rec])
        return rec

    def write_manifest(self, records: list[dict]) -> None:
        manifest = {"format": MANIFEST_FORMAT, "package_version": package_version(), "grid": self.fingerprint, "chunks": records}
        atomic_write(self.manifest_path, json.dumps(manifest, indent=1).encode(), _RESUMABLE)

    def load_chunk(self, rec: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(config indices, {metric: array with a leading config axis}) of a recorded chunk."""
        with np.load(self.chunk_dir / rec["file"]) as z:
            return z[CONFIGS_KEY], {k: z[k] for k in z.files if k not in (CONFIGS_KEY, RECORD_KEY)}
