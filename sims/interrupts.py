"""Stopping on SIGINT / SIGTERM within a moment, whatever the main thread is doing.

A Python signal handler runs only when the main thread returns to the interpreter, and a sweep's main
thread spends its time inside one ``jit(vmap(run))`` call that may last minutes; raising
``KeyboardInterrupt`` once it returns, and unwinding the interpreter while XLA's threads still run, is
what crashed (a segmentation fault at exit). So the handler does nothing but wake a watcher thread
(``signal.set_wakeup_fd``: the C-level handler writes the signal number to a pipe at once, and the
blocked main thread holds no GIL while XLA computes), and the watcher ends the process itself:

1. it waits (up to ``WRITE_GRACE_S``) until no file is being written: every write goes through
   ``atomic.atomic_write``, which holds ``WRITE_GUARD`` from its temporary file to the rename, so a
   finished chunk is either recorded or not, never half-written;
2. it removes this process's temporary files (a write that did not finish in the grace period) and the
   ``.lock`` files this process holds (it still holds their flock, so nobody can take them meanwhile);
3. it prints one line and leaves with ``os._exit(128 + signum)`` (130 for SIGINT, 143 for SIGTERM),
   without unwinding Python or tearing down XLA. The chunk in flight is abandoned and recomputed by the
   next run, exactly as after a kill.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from pathlib import Path

WRITE_GUARD = threading.Lock()  # held by atomic_write while a file is written and renamed
WRITE_GRACE_S = 3.0  # how long a signal waits for a write in progress before abandoning it
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_temp_files: set[Path] = set()  # temporary files this process is writing
_held_locks: set[Path] = set()  # .lock files this process holds
_message = "rote: interrupted; finished chunks are kept and a re-run resumes"


def register_temp(path: Path) -> None:
    _temp_files.add(Path(path))


def unregister_temp(path: Path) -> None:
    _temp_files.discard(Path(path))


def register_lock(path: Path) -> None:
    _held_locks.add(Path(path))


def unregister_lock(path: Path) -> None:
    _held_locks.discard(Path(path))


def _finish(signum: int) -> None:
    """Clean up and end the process (called by the watcher thread)."""
    writing_done = WRITE_GUARD.acquire(timeout=WRITE_GRACE_S)  # kept until exit: no new write starts
    for path in list(_temp_files):
        with contextlib.suppress(OSError):
            path.unlink()
    for path in list(_held_locks):
        with contextlib.suppress(OSError):
            path.unlink()  # the flock goes with the process; removing the file first, as RunDir.lock does
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    name = signal.Signals(signum).name
    note = "" if writing_done else " (a write in progress was abandoned)"
    with contextlib.suppress(OSError):
        os.write(2, f"\n{_message} ({name}){note}\n".encode())
    os._exit(128 + signum)


def _watch(read_fd: int) -> None:
    while True:
        try:
            select.select([read_fd], [], [])
            data = os.read(read_fd, 64)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data or 0 in data:  # closed, or the sentinel of ``uninstall``
            return
        for signum in data:
            if signum in SIGNALS:
                _finish(signum)


@contextlib.contextmanager
def exit_promptly_on_signals(message: str | None = None):
    """For the body, SIGINT and SIGTERM end the process within a moment (exit 130 / 143), as described
    above. A no-op outside the main thread (signal handlers can only be set there)."""
    global _message
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_message, _message = _message, message or _message
    old_handlers = {s: signal.getsignal(s) for s in SIGNALS}
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(target=_watch, args=(read_fd,), name="rote-signal-watcher", daemon=True)
    watcher.start()
    try:
        for s in SIGNALS:
            signal.signal(s, lambda signum, frame: None)  # the watcher acts; the main thread goes on until it does
        yield
    finally:
        for s, handler in old_handlers.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be restored
                signal.signal(s, handler)
        signal.set_wakeup_fd(old_fd)
        with contextlib.suppress(OSError):
            os.write(write_fd, b"\0")
        watcher.join(5)
        os.close(write_fd)
        os.close(read_fd)
        _message = previous_message
