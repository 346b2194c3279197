"""The one way rote writes a file: a temporary file beside it, fsync, rename, fsync of the directory.

A reader (or a process killed at any moment) sees either the old file or the complete new one, never a
half-written one. Used for chunk files, the manifest, results.nc and the figures alike. While a write is
in progress it holds ``interrupts.WRITE_GUARD`` and its temporary file is registered, so that SIGINT /
SIGTERM end the process between writes, or remove the temporary file of a write they abandon.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

from . import interrupts
from .errors import RoteError


def temp_name(path: Path) -> Path:
    """The temporary file of ``path`` for this process: ``.NAME.tmp-PID`` beside it (a run directory
    recognizes and removes the ones killed writers leave behind)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_error(path: Path, exc: OSError, hint: str = "") -> RoteError:
    """The one-line error of a failed write: ``cannot write PATH: REASON`` followed by ``hint``."""
    return RoteError(f"cannot write {path}: {exc.strerror or exc}{hint}")


def atomic_write(path: Path, content: bytes | Callable[[Path], object], hint: str = "") -> None:
    """Write ``content`` (bytes, or a function that writes the file at the path it is given, such as
    ``Figure.savefig``) to ``path`` atomically and durably.

    On failure (disk full, quota, I/O error, read-only, permissions) ``path`` is untouched, the temporary
    file is removed and the error is one line (RoteError: ``cannot write PATH: REASON`` followed by
    ``hint``), not a traceback.
    """
    path = Path(path)
    tmp = temp_name(path)
    with interrupts.WRITE_GUARD:
        interrupts.register_temp(tmp)
        try:
            if callable(content):
                content(tmp)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            else:
                with open(tmp, "wb") as fh:
                    fh.write(content)
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(path, exc, hint) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            interrupts.unregister_temp(tmp)
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
