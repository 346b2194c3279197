"""The harness of the side-by-side benchmarks (bench_<family>.py): command line, interleaved timing,
peak, rows, tables, JSON report. A benchmark file holds only its methods, their FLOP accounting and
its headline ratios.

A benchmark is a set of sections; a section measures a dict of methods, each a pair
``(fn, work)``: ``fn()`` runs the measured work once (compiled beforehand), ``work`` describes it
(``flops`` credited per call, ``configs``, ``steps``, ``chunk``, ``threads``, and optionally
``program_bytes``, a callable giving the compiled program's buffers; the name "peak" is the harness's).
The API, in the order a benchmark uses it:

    ap = parser(__doc__, sections=("methods", "grid"), json_path="bench_out/x.json", wait_quiet=5, wait_budget=30)
    ...its own arguments...; args = ap.parse_args(argv)
    engine_call(study, cfgs) / python_loop(step, weights, opt, step_args) / with_threads(fn, n)
        -> (fn, work) for the engine, for a per-config JAX loop, for a torch loop at n threads
    measure(methods, args, summarize) -> {"peak": {...}, "rows": [...]}: the methods and the fp32 matmul
        peak interleaved round by round, each row ``summarize(name, work, samples, peak_gflops)``,
        which starts from ``row(...)`` (the fields every benchmark reports) and adds its own units
    fastest(rows, match, key) -> the row of a reference (e.g. torch at its faster thread setting)
    timed(fn) / best(samples) / xla_bytes(jitted, *args) / log(msg): one sample, the reported one of
        several, a compiled program's buffers, a progress line (for work timed apart from ``measure``)
    table(rows, columns) with columns from ``col`` / ``ratio_col``: the printed table
    run(args, {name: (measure_fn(args, result) -> dict, show_fn(section, result))}, legend)
        -> the result dict, also written as JSON to ``args.json``

Timing: each sample records the wall time and the fraction of the machine's CPU that other processes
used meanwhile (/proc/stat minus this process's CPU time); ``best`` reports the best quiet sample
(others under QUIET of the machine), or the best sample if none was quiet, with the share of quiet
samples and the median. Before each sample the run waits up to --wait-quiet s for a quiet half
second, at most --wait-budget s over the whole run, so a busy machine bounds the run time. Peak
memory: ``rss``, the rise of the process's peak resident set (VmHWM, reset through
/proc/self/clear_refs before the call) over the resident set just before it (memory the allocator
kept from earlier calls is not counted again: a lower bound after a warm-up call); ``xla``, the
compiled program's own buffers (arguments + outputs + temporaries, ``compiled.memory_analysis()``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

QUIET = 0.05  # a sample is quiet when other processes used less than this fraction of the machine
WAIT_QUIET_S = 0.0  # before each sample, wait up to this long for a quiet half second (--wait-quiet)
WAIT_BUDGET_S = float("inf")  # ... and at most this long over the whole run (--wait-budget)
_waited = 0.0

# --------------------------------------------------------------------------------------------------
# Timing and memory
# --------------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    """A timestamped progress line, flushed at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


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


def _wait_quiet(max_s: float, window: float = 0.5) -> None:
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
        _wait_quiet(min(WAIT_QUIET_S, WAIT_BUDGET_S - _waited))
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


def xla_bytes(jitted, *args) -> int | None:
    """Arguments + outputs + temporaries of the compiled program (what XLA allocates per call)."""
    try:
        ma = jitted.lower(*args).compile().memory_analysis()
        return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes - ma.alias_size_in_bytes)
    except Exception:  # not every backend/version reports it
        return None


# --------------------------------------------------------------------------------------------------
# Methods shared by the benchmarks: the peak, the engine, a per-config JAX loop, torch threads
# --------------------------------------------------------------------------------------------------


def _peak_method(n: int, reps: int):
    """The machine's fp32 matmul rate: ``reps`` jit'd ``jnp.matmul`` of two n x n matrices per call."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    f(a, b).block_until_ready()

    def go():
        for _ in range(reps):
            out = f(a, b)
        out.block_until_ready()

    return go, {"flops": 2.0 * n**3 * reps, "size": n}


def engine_call(study, cfgs: list, compile_now: bool = True):
    """All ``cfgs`` (one static group) through ``engine.run_chunk`` in chunks of ``engine.choose_chunk_size``,
    as a sweep runs them; compiled now unless told otherwise. -> (fn, work with configs, chunk, chunks,
    program_bytes)."""
    from rote.sims import engine

    n = len(cfgs)
    size = engine.choose_chunk_size(study, cfgs[0])
    if compile_now:
        engine.run_chunk(study, cfgs[:size], size)  # compile (cached per run function and chunk size)

    def go():
        for start in range(0, n, size):
            engine.run_chunk(study, cfgs[start : start + size], size)

    def program_bytes():
        return xla_bytes(engine.batched_run(study.run), engine.stack_params(cfgs[:size]))

    return go, {"configs": n, "chunk": size, "chunks": -(-n // size), "program_bytes": program_bytes}


def python_loop(step, weights, opt, step_args: list[tuple]):
    """A straightforward per-configuration loop: ``step(w, opt_state, *args)`` jit'd with the weights and
    optimiser state donated, called once per entry of ``step_args`` from fresh copies of ``weights``
    (compiled now). -> (fn, work with program_bytes)."""
    fresh = lambda: (jax.tree_util.tree_map(jnp.copy, weights), opt.init(weights))  # donated each call
    jax.block_until_ready(step(*fresh(), *step_args[0]))  # compile

    def go():
        w, state = fresh()
        for a in step_args:
            w, state = step(w, state, *a)
        jax.block_until_ready(w)

    return go, {"configs": 1, "steps": len(step_args), "program_bytes": lambda: xla_bytes(step, *fresh(), *step_args[0])}


def torch_thread_counts() -> list[int]:
    """torch's default intra-op threads (one per core) and, if that differs, 1; [] without torch. On a
    shared 2-core machine two OpenMP threads degrade badly when another process takes a core, so the
    benchmarks time both and their ratios use the faster (``fastest``)."""
    try:
        import torch
    except ImportError:
        return []
    return sorted({torch.get_num_threads(), 1}, reverse=True)


def with_threads(fn, threads: int):
    """fn run with torch's intra-op threads set to ``threads`` (restored after)."""
    import torch

    def go():
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return fn()
        finally:
            torch.set_num_threads(before)

    return go


# --------------------------------------------------------------------------------------------------
# Measuring a section
# --------------------------------------------------------------------------------------------------


def row(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    """The fields every benchmark reports for a method: its best sample (``best``) and its credited rate
    ``work['flops']`` per wall second against the peak; a benchmark's ``summarize`` adds its units."""
    b = best(samples)
    gflops = work["flops"] / b["wall"] / 1e9
    out = {"method": name, "configs": work.get("configs", 1), "steps": work.get("steps"), "chunk": work.get("chunk"),
           "gflops": gflops, "fraction_of_peak": gflops / peak_gflops, "wall_s": b["wall"], "wall_s_median": b["median"], "cpu_s": b["cpu"],
           "quiet_samples": b["quiet"], "others_at_best": b["others_at_best"], "others_mean": b["others_mean"], "rss_peak_bytes": b["rss"],
           "samples": samples}
    if "threads" in work:
        out["threads"] = work["threads"]
    return out


def measure(methods: dict, args, summarize: Callable, rounds: int | None = None, once: Callable | None = None) -> dict:
    """Time ``methods`` ({name: (fn, work)}) and the fp32 matmul peak (--peak-size, --peak-reps) interleaved
    round by round, so a disturbance by another process hits them alike (``rounds``, else --rounds;
    methods whose work satisfies ``once`` are sampled in the first round only). Returns {"peak": {gflops,
    size, samples, quiet_samples}, "rows": [summarize(name, work, samples, peak_gflops) + xla_bytes]}."""
    rounds = args.rounds if rounds is None else rounds
    peak_fn, peak_work = _peak_method(args.peak_size, args.peak_reps)
    everything = {"peak": (peak_fn, peak_work), **methods}
    samples = {name: [] for name in everything}
    for r in range(rounds):
        for name, (fn, work) in everything.items():
            if r == 0 or name == "peak" or not (once and once(work)):
                samples[name].append(timed(fn))
        log(f"  round {r + 1}/{rounds} done")
    peak_gflops = max(peak_work["flops"] / s["wall"] / 1e9 for s in samples["peak"])
    rows = []
    for name, (fn, work) in methods.items():
        r = summarize(name, work, samples[name], peak_gflops)
        pb = work.get("program_bytes")
        r["xla_bytes"] = pb() if callable(pb) else None
        rows.append(r)
    peak = {"gflops": peak_gflops, "size": args.peak_size, "samples": samples["peak"], "quiet_samples": best(samples["peak"])["quiet"]}
    return {"peak": peak, "rows": rows}


def fastest(rows: list[dict], match: Callable[[str], bool], key: str) -> dict | None:
    """The row with the smallest ``key`` (a time per unit) among those whose method name matches: a
    reference at its faster thread setting. None if no row matches."""
    rows = [r for r in rows if match(r["method"])]
    return min(rows, key=lambda r: r[key]) if rows else None


# --------------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------------


def _mb(b) -> str:
    """Bytes as whole MiB, '-' when unknown."""
    return f"{b / 2**20:.0f}" if b is not None else "-"


def col(header: str, width: int, fmt: str | Callable, align: str = ">") -> tuple:
    """A table column: a format applied to the row's fields (``fmt`` such as '{gflops:.1f}'), or a function
    of the row returning the text; right-aligned unless ``align`` is '<'."""
    return header, width, (fmt if callable(fmt) else lambda r: fmt.format(**r)), align


def ratio_col(header: str, width: int, key: str, reference: float | None, fmt: str = "{:.1f}x", faster: str = "lower") -> tuple:
    """How many times faster the row is than ``reference`` on ``key`` ('-' without one): reference / value
    for a time per unit (``faster='lower'``), value / reference for a rate (``faster='higher'``)."""

    def text(r):
        if not reference or not r.get(key):
            return "-"
        return fmt.format(reference / r[key] if faster == "lower" else r[key] / reference)

    return header, width, text, ">"


OF_PEAK = col("of peak", 7, lambda r: f"{100 * r['fraction_of_peak']:6.1f}%")


def memory_columns(xla_header: str = "xla MB") -> list[tuple]:
    """The last columns of every table: peak resident-set rise, the compiled program's buffers, quiet samples."""
    return [col("rss MB", 6, lambda r: _mb(r.get("rss_peak_bytes"))), col(xla_header, len(xla_header), lambda r: _mb(r.get("xla_bytes"))),
            col("quiet", 6, lambda r: r["quiet_samples"])]


def table(rows: list[dict], columns: list[tuple]) -> None:
    """Print rows under a header, one column per ``col`` / ``ratio_col``, separated by a space."""
    print(" ".join(f"{h:{a}{w}s}" for h, w, _, a in columns))
    for r in rows:
        print(" ".join(f"{f(r):{a}{w}s}" for _, w, f, a in columns))


# --------------------------------------------------------------------------------------------------
# The run: command line, sections, report
# --------------------------------------------------------------------------------------------------


def parser(doc: str, *, sections, json_path: str, wait_quiet: float, wait_budget: float, quick: str) -> argparse.ArgumentParser:
    """The arguments every benchmark takes (rounds, sections, peak size, quiet waits, --quick, --json);
    the benchmark adds its own, parses, and applies --quick itself."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="samples per method, interleaved round by round")
    ap.add_argument("--sections", nargs="+", default=list(sections), choices=list(sections))
    ap.add_argument("--peak-size", type=int, default=2048, help="n of the n x n fp32 matmul that measures the peak")
    ap.add_argument("--peak-reps", type=int, default=3)
    ap.add_argument("--wait-quiet", type=float, default=wait_quiet, metavar="S",
                    help="before each sample wait up to S seconds for other processes to go quiet (0: never wait)")
    ap.add_argument("--wait-budget", type=float, default=wait_budget, metavar="S", help="at most S seconds of such waiting over the whole run")
    ap.add_argument("--quick", action="store_true", help=quick)
    ap.add_argument("--json", default=json_path, help="where the report goes")
    return ap


def _machine_info() -> dict:
    """What the numbers were measured on: processor, cores, JAX version and devices, torch version and
    threads (or that it is not installed: pip install torch==2.13.0 for the torch rows)."""
    try:
        import torch

        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_info = "torch not installed (pip install torch==2.13.0 for the torch rows)"
    return {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "jax": jax.__version__,
            "device": jax.devices()[0].device_kind, "devices": jax.device_count(), "backend": jax.default_backend(), "torch": torch_info}


def _sample_lists(sec):
    """Every list of timing samples in a section."""
    if isinstance(sec, dict):
        for k, v in sec.items():
            if k == "samples" and isinstance(v, list):
                yield v
            else:
                yield from _sample_lists(v)
    elif isinstance(sec, list):
        for v in sec:
            yield from _sample_lists(v)


def run(args, sections: dict, legend: str) -> dict:
    """Measure the chosen sections in order, print the machine, the run's load and ``legend`` (what the
    columns mean), then each section's table, and write the result as JSON to ``args.json``.

    sections: {name: (measure_fn(args, result) -> dict, show_fn(section, result))}; a section may read
    the sections measured before it from ``result``. The result holds args, machine, quiet_threshold,
    each section, wall_s, waited_for_quiet_s, others_share_mean (the mean share of the machine other
    processes used over every sample) and load_average (start, end)."""
    global WAIT_QUIET_S, WAIT_BUDGET_S
    WAIT_QUIET_S, WAIT_BUDGET_S = args.wait_quiet, args.wait_budget
    t_start, load_start = time.perf_counter(), os.getloadavg()
    machine = _machine_info()
    log(f"machine: {machine}")
    result = {"args": vars(args), "machine": machine, "quiet_threshold": QUIET}
    for name, (measure_fn, _) in sections.items():
        if name in args.sections:
            result[name] = measure_fn(args, result)
    result["wall_s"], result["waited_for_quiet_s"] = time.perf_counter() - t_start, _waited
    others = [s["others"] for name in sections if name in result for samples in _sample_lists(result[name]) for s in samples]
    result["others_share_mean"] = float(np.mean(others)) if others else None
    result["load_average"] = {"start": load_start, "end": os.getloadavg()}

    print(f"\nmachine: {machine['processor']}, {machine['cpus']} CPUs, {machine['devices']}x {machine['device']} ({machine['backend']}), "
          f"JAX {machine['jax']}, {machine['torch']}")
    print(legend + f"; rss = peak resident-set rise, xla = the compiled program's buffers; quiet = samples with other processes under {100 * QUIET:.0f}% of the machine")
    print(f"run {result['wall_s']:.0f} s, of which {_waited:.0f} s waiting for quiet (--wait-quiet {args.wait_quiet:g}, --wait-budget {args.wait_budget:g}); "
          f"other processes used {100 * (result['others_share_mean'] or 0):.0f}% of the machine on average over the samples; "
          f"load average (1, 5, 15 min) at start {' '.join(f'{x:.2f}' for x in load_start)}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, (_, show_fn) in sections.items():
        if name in result:
            show_fn(result[name], result)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwrote {out}")
    return result
