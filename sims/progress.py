"""The sweep's progress bar: named by study, scale and panel, with an ETA from the cost estimate before
the first chunk ends.

Before any chunk has finished, the ETA is the pending configs' FLOPs (``Study.flops_per_config``) over
the rate a sweep reaches on this machine, guessed as ``ASSUMED_EFFICIENCY`` times the measured fp32
matmul rate of the devices, plus ``COMPILE_GUESS_S`` per static group still to compile (marked ``~``).
Once chunks finish, both are measured: the FLOP rate of the chunks that compiled nothing (or of all
chunks, until there is one), and the compile time as what the first chunk of a group took beyond its
FLOPs. A study without a cost estimate gets an ETA from the configs per second once the first chunk is
done. On a terminal the bar is redrawn every second, so that the elapsed time and ETA keep moving while
a long chunk runs.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Sequence

ASSUMED_EFFICIENCY = 0.5  # the grokking step reaches 60-64 % of the matmul peak, small models less (README, Performance)
COMPILE_GUESS_S = 10.0  # compiling one static group's jit(vmap(run)) (8-17 s for the smoke grids on the 2-core CPU)
REDRAW_S = 1.0


def _interval(seconds: float) -> str:
    from tqdm import tqdm

    return tqdm.format_interval(max(0.0, seconds))


class SweepProgress:
    """One sweep's bar: ``chunk_done`` after every chunk, ``close`` at the end (also a context manager).

    pending_costs: FLOPs of each pending config (None: no cost estimate); groups: static groups pending
    (each compiles once); guessed_rate: a function giving the devices' FLOP/s (called only if shown)."""

    def __init__(self, label: str, total: int, done: int, pending_costs: Sequence[float] | None, groups: int, enabled: bool,
                 guessed_rate=None, file=None):
        from tqdm.auto import tqdm

        self.costs_known = pending_costs is not None
        self.cost_left = float(sum(pending_costs)) if self.costs_known else 0.0
        self.configs_left = total - done
        self.groups_left = groups
        self.chunks = []  # (configs, cost, wall seconds, compiled) of each finished chunk
        self.guess = None
        if enabled and self.costs_known and self.configs_left and guessed_rate is not None:
            self.guess = ASSUMED_EFFICIENCY * guessed_rate()
        self.t_update = time.monotonic()
        file = file or sys.stderr
        self.bar = tqdm(total=total, initial=done, unit="config", desc=label, disable=not enabled or self.configs_left == 0,
                        file=file, dynamic_ncols=True, postfix=self.eta_text(), mininterval=0,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} configs [{elapsed}{postfix}]")
        self._stop = threading.Event()
        self._redraw = None
        if not self.bar.disable and getattr(file, "isatty", lambda: False)():
            self._redraw = threading.Thread(target=self._redraw_loop, name="rote-progress", daemon=True)
            self._redraw.start()

    def _rates(self) -> tuple[float | None, float]:
        """(FLOP/s or configs/s of the compute, seconds per compile), measured where possible."""
        unit = (lambda c: c[1]) if self.costs_known else (lambda c: c[0])
        steady = [c for c in self.chunks if not c[3]] or self.chunks
        if not steady:
            return (self.guess, COMPILE_GUESS_S) if self.costs_known else (None, COMPILE_GUESS_S)
        work, wall = sum(unit(c) for c in steady), sum(c[2] for c in steady)
        rate = work / wall if wall > 0 and work > 0 else None
        if rate and any(c[3] for c in self.chunks) and len(steady) < len(self.chunks):
            extra = [c[2] - unit(c) / rate for c in self.chunks if c[3]]
            return rate, max(0.0, sum(extra) / len(extra))
        return rate, (0.0 if steady is self.chunks and self.chunks else COMPILE_GUESS_S)

    def eta_seconds(self) -> tuple[float | None, bool]:
        """(seconds left, whether it is a guess made before any chunk finished); None if nothing can be said."""
        rate, compile_s = self._rates()
        if not rate:
            return None, False
        work = self.cost_left if self.costs_known else self.configs_left
        since = time.monotonic() - self.t_update
        return max(0.0, work / rate + self.groups_left * compile_s - since), not self.chunks

    def eta_text(self) -> str:
        if self.configs_left <= 0:
            return ""
        eta, guessed = self.eta_seconds()
        if eta is None:
            return "ETA after the first chunk"
        return f"ETA ~{_interval(eta)} (cost estimate)" if guessed else f"ETA {_interval(eta)}"

    def chunk_done(self, n_configs: int, cost: float, wall_s: float, compiled: bool) -> None:
        """A chunk of ``n_configs`` (``cost`` FLOPs) took ``wall_s``; ``compiled``: it was the first of its group."""
        self.cost_left -= cost
        self.configs_left -= n_configs
        self.groups_left -= int(compiled)
        self.chunks.append((n_configs, cost, wall_s, compiled))
        self.t_update = time.monotonic()
        self.bar.set_postfix_str(self.eta_text(), refresh=False)
        self.bar.update(n_configs)

    def _redraw_loop(self) -> None:
        while not self._stop.wait(REDRAW_S):
            self.bar.set_postfix_str(self.eta_text())  # refreshes under tqdm's own lock

    def close(self) -> None:
        self._stop.set()
        if self._redraw is not None:
            self._redraw.join(2 * REDRAW_S)
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
