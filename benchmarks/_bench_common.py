"""Timing and memory measurement shared by the side-by-side benchmarks (bench_grokking.py, bench_mha.py).

Each sample records the wall time and the fraction of the machine's CPU that other processes used
meanwhile (/proc/stat minus this process's CPU time); ``best`` reports the best quiet sample (others
under QUIET of the machine), or the best sample if none was quiet. Peak memory: the rise of the
process's VmHWM over a call (``timed``) and the compiled program's own buffers (``xla_bytes``).
Set ``WAIT_QUIET_S`` (and ``WAIT_BUDGET_S``) to wait for a quiet moment before each sample.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

QUIET = 0.05  # a sample is quiet when other processes used less than this fraction of the machine
WAIT_QUIET_S = 0.0  # before each sample, wait up to this long for a quiet half second (--wait-quiet)
WAIT_BUDGET_S = float("inf")  # ... and at most this long over the whole run (--wait-budget)
_waited = 0.0


def waited_s() -> float:
    """Seconds spent so far waiting for quiet moments."""
    return _waited


def _machine_busy_s() -> float:
    """CPU-seconds the whole machine has spent busy (all processes), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:9]]
    except OSError:
        return float("nan")
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_quiet(max_s: float, window: float = 0.5) -> None:
    """Return once other processes used less than QUIET of the machine over ``window`` s, or after max_s
    (counted against the run's wait budget)."""
    global _waited
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < max_s:
            b0, c0 = _machine_busy_s(), _own_cpu_s()
            time.sleep(window)
            if ((_machine_busy_s() - b0) - (_own_cpu_s() - c0)) / (window * (os.cpu_count() or 1)) < QUIET:
                return
    finally:
        _waited += time.perf_counter() - t0


def timed(fn) -> dict:
    """Run fn once: wall seconds, own CPU seconds, the machine fraction used by other processes, and the
    rise of the peak resident set over the resident set before the call (bytes; None if unavailable)."""
    if WAIT_QUIET_S > 0 and _waited < WAIT_BUDGET_S:
        wait_quiet(min(WAIT_QUIET_S, WAIT_BUDGET_S - _waited))
    rss0 = _reset_peak_rss()
    b0, c0, t0 = _machine_busy_s(), _own_cpu_s(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    cpu = _own_cpu_s() - c0
    others = max(0.0, (_machine_busy_s() - b0) - cpu) / (wall * (os.cpu_count() or 1))
    peak = _status_kb("VmHWM")
    rss = None if rss0 is None or peak is None else max(0, peak - rss0) * 1024
    return {"wall": wall, "cpu": cpu, "others": others, "rss_rise": rss}


def best(samples: list[dict]) -> dict:
    """The best wall time among quiet samples (else among all), the median, and the quiet share."""
    walls = np.array([s["wall"] for s in samples])
    quiet = np.array([s["others"] < QUIET for s in samples])
    pick = walls[quiet] if quiet.any() else walls
    picked = [s for s in samples if s["wall"] == pick.min()][0]
    rss = [s["rss_rise"] for s in samples if s["rss_rise"] is not None]
    return {"wall": float(pick.min()), "median": float(np.median(walls)), "quiet": f"{int(quiet.sum())}/{len(samples)}",
            "others_at_best": float(picked["others"]), "cpu": float(min(s["cpu"] for s in samples)),
            "others_mean": float(np.mean([s["others"] for s in samples])), "rss": max(rss) if rss else None}


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> int | None:
    """Reset the process's peak resident set (VmHWM) to the current one; returns the current one (kB)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    return _status_kb("VmRSS")


def xla_bytes(jitted, *args) -> int | None:
    """Arguments + outputs + temporaries of the compiled program (what XLA allocates per call)."""
    try:
        ma = jitted.lower(*args).compile().memory_analysis()
        return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes - ma.alias_size_in_bytes)
    except Exception:  # not every backend/version reports it
        return None


def peak_method(n: int, reps: int):
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    f(a, b).block_until_ready()

    def go():
        for _ in range(reps):
            out = f(a, b)
        out.block_until_ready()

    return go, {"flops": 2.0 * n**3 * reps, "size": n}


def run_rounds(methods: dict, rounds: int, log) -> dict[str, list[dict]]:
    """Interleave the methods round by round ({name: (fn, work)}), so a disturbance hits them alike;
    returns {name: [timed sample per round]}."""
    samples = {name: [] for name in methods}
    for r in range(rounds):
        for name, (fn, _) in methods.items():
            samples[name].append(timed(fn))
        log(f"  round {r + 1}/{rounds} done")
    return samples


def add_program_bytes(methods: dict, rows: dict) -> None:
    """Fill rows[name]['xla_bytes'] from each method's work['program_bytes'] callable (None without one)."""
    for name, (fn, work) in methods.items():
        pb = work.get("program_bytes")
        if name in rows:
            rows[name]["xla_bytes"] = pb() if callable(pb) else None


def log(msg: str) -> None:
    """A timestamped progress line, flushed at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_info() -> dict:
    """What the numbers were measured on: processor, cores, JAX version and devices, torch version and
    threads (or that it is not installed: pip install torch==2.13.0 for the torch rows)."""
    try:
        import torch

        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_info = "torch not installed (pip install torch==2.13.0 for the torch rows)"
    return {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "jax": jax.__version__,
            "device": jax.devices()[0].device_kind, "devices": jax.device_count(), "backend": jax.default_backend(), "torch": torch_info}
