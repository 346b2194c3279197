"""Reliability under injected faults: SIGKILL at random points and mid-write, SIGINT / SIGTERM inside a
long chunk, damaged chunk and manifest files, foreign results directories, concurrent sweeps, fuzzed
configs and command lines, divergence, determinism across processes and device counts, and a full or
unwritable disk (injected errors, and a real small tmpfs where the tests run as root) for chunks,
manifest, results.nc and figures.

Each section states what the engine guarantees (README, "What a sweep guarantees") and tries to break
it. Engine-level faults run on the engine tests' toy study (tests/engine/toy_study.py); the ones that go
through `rote sweep` use a tiny grokking grid (the command line needs a registered study). The counts
the issue asks for (kills and interrupts survived, damaged files detected, write faults injected, fuzzed
inputs tried) are collected in COUNTS
and printed as they grow and at the end (`pytest -s tests/test_reliability.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import inspect
import io
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from engine.support import Log, assert_metrics_close, quiet, snapshot, with_claims
from engine.toy_study import METRICS, STUDY, TOY, TOY_AXES, ToyParams
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rote.sims import atomic, cli, engine, studies
from rote.sims import params as P
from rote.sims.errors import ConfigError, RoteError
from rote.sims.study import Claim

TESTS = Path(__file__).resolve().parent

COUNTS = {"kills and interrupts survived": 0, "damaged files detected": 0, "write faults injected": 0, "fuzzed inputs tried": 0}

# Deep local fuzzing: ROTE_FUZZ_EXAMPLES=2000 pytest tests/test_reliability.py -k fuzz (random seeds then).
_FUZZ_N = os.environ.get("ROTE_FUZZ_EXAMPLES")


def fuzz_settings(default: int):
    return settings(
        max_examples=int(_FUZZ_N) if _FUZZ_N else default,
        derandomize=_FUZZ_N is None,  # the default suite is reproducible
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def report(key: str, n: int) -> None:
    COUNTS[key] += n
    print(f"[reliability] {key}: +{n} (session total {COUNTS[key]})")


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print("\n[reliability] " + ", ".join(f"{k}: {v}" for k, v in COUNTS.items()))


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(out: Path) -> list[str]:
    """Temp and probe files anywhere in a run directory."""
    return sorted(p.name for p in out.rglob("*") if ".tmp-" in p.name or p.name.startswith(".write-probe"))


def manifest_records(out: Path) -> list[dict]:
    path = out / "manifest.json"
    return json.loads(path.read_text())["chunks"] if path.exists() else []


def assert_run_dir_consistent(out: Path, n_configs: int, complete: bool = True) -> list[dict]:
    """The manifest parses, its chunks are disjoint (and cover the grid if complete), every listed file
    exists with its checksum, and no unlisted chunk file or temp file is left (if complete)."""
    records = manifest_records(out)
    configs = [i for rec in records for i in rec["configs"]]
    assert len(configs) == len(set(configs)), "a config is in two chunks"
    assert all(0 <= i < n_configs for i in configs)
    for rec in records:
        assert sha(out / "chunks" / rec["file"]) == rec["sha256"], rec["file"]
    if complete:
        assert sorted(configs) == list(range(n_configs)), "a config is missing"
        assert sorted(p.name for p in (out / "chunks").iterdir()) == sorted(rec["file"] for rec in records)
        assert leftovers(out) == []
        assert not (out / ".lock").exists()
    return records


def assert_bitwise_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    assert set(a.coords) == set(b.coords)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.data_vars:
        assert a[name].dims == b[name].dims, name
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)  # NaN == NaN here


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def run_cli(argv) -> tuple[int, str, str]:
    """cli.main in-process; (exit code, stdout, stderr). An exception escaping main fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse errors
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def assert_one_line_error(rc, err, *fragments):
    assert rc == 2, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rote: error:"), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


# A tiny grokking grid through the CLI (which needs a registered study): the smoke scale made small
# (grid: alpha 2 x xi 3 x weight_decay 2 = 12 configs, 4 chunks).
CLI_TINY = [
    "--scale", "smoke", "--no-progress", "--chunk-size", "4",
    "--set", "p=11", "--set", "N=16", "--set", "steps=20", "--set", "log_every=10",
    "--set", "alpha=0.5,0.7", "--set", "xi=0.0,0.3,0.5", "--set", "weight_decay=0.0,1.0",
]  # fmt: skip


@pytest.fixture(scope="module")
def cli_ref_dir(tmp_path_factory):
    """The directory of an uninterrupted CLI_TINY sweep (the reference for the disk-fault tests)."""
    out = tmp_path_factory.mktemp("ref") / "run"
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    assert rc == 0, err
    return out


@pytest.fixture(scope="module")
def cli_ref(cli_ref_dir):
    return engine.load_dataset(cli_ref_dir / "results.nc")


# ==================================================================================================
# 1. Kill and resume: a real sweep in a subprocess, SIGKILLed again and again
# ==================================================================================================

_DRIVER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    import jax
    jax.config.update("jax_compilation_cache_dir", os.environ["ROTE_TEST_CACHE"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    from engine.toy_study import STUDY, ToyParams
    from rote.sims import engine

    out = Path(sys.argv[1])
    pause = os.environ.get("ROTE_TEST_PAUSE", "")      # "chunk:N" | "manifest:N" | "save:N"
    kind, _, nth = pause.partition(":")
    mark = Path(os.environ.get("ROTE_TEST_MARK", "/nonexistent"))
    release = Path(os.environ.get("ROTE_TEST_RELEASE", "/nonexistent"))
    delay = float(os.environ.get("ROTE_TEST_CHUNK_DELAY", "0"))
    runlog = os.environ.get("ROTE_TEST_RUNLOG")
    seen = {"chunk": 0, "manifest": 0, "save": 0}

    def hit(what):
        # pause (until killed, or until the release file appears) at the nth write of this kind
        seen[what] += 1
        if what == kind and seen[what] == int(nth):
            mark.write_text(str(os.getpid()))
            t0 = time.time()
            while not release.exists() and time.time() - t0 < 300:
                time.sleep(0.01)

    real_fsync = os.fsync
    def fsync(fd):  # the engine's atomic writes: tmp file written and flushed, fsync, then rename
        real_fsync(fd)
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(".chunk-") and ".tmp-" in name:
            hit("chunk")       # the chunk's tmp file is complete, not yet renamed
        elif name.startswith(".manifest.json.tmp-"):
            hit("manifest")    # the chunk is renamed into place, the manifest not yet updated
        elif name.startswith(".results.nc.tmp-"):
            hit("save")        # results.nc's tmp file is written, not yet renamed
    os.fsync = fsync

    real_run_chunk = engine.run_chunk
    def run_chunk(study, configs, size):
        metrics = real_run_chunk(study, configs, size)
        if runlog:
            with open(runlog, "a") as fh:
                fh.write(f"{len(configs)}\\n")
        time.sleep(delay)      # stretch the compute so that random kills land between and in writes
        return metrics
    engine.run_chunk = run_chunk

    base = ToyParams(**json.loads(sys.argv[2]))
    axes = {name: tuple(values) for name, values in json.loads(sys.argv[3]).items()}
    engine.sweep(STUDY, base, axes, out, chunk_size=2, progress=False)
    """
)
KILL_BASE = ToyParams(steps=200, log_every=20)
KILL_AXES = {**TOY_AXES, "seed": (0, 1, 2, 3, 4, 5)}
KILL_N = 72  # configs; chunks of 2 -> 36 chunks


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the driver finds file names through /proc/self/fd")
def test_sigkill_at_random_points_and_mid_write_then_resume_equals_uninterrupted_run(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    env0 = {**os.environ, "JAX_PLATFORMS": "cpu", "ROTE_TEST_CACHE": str(tmp_path / "jax-cache"), "PYTHONPATH": str(TESTS)}
    rng = random.Random(20240607)

    def spawn(out, **hooks):
        env = {**env0, **{f"ROTE_TEST_{k.upper()}": str(v) for k, v in hooks.items()}}
        log = open(tmp_path / "driver.log", "a")
        try:
            argv = [sys.executable, str(driver), str(out), json.dumps(P.as_dict(KILL_BASE)), json.dumps(KILL_AXES)]
            return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def driver_log():
        return (tmp_path / "driver.log").read_text()[-4000:]

    def wait_for(cond, proc, what, timeout=240):
        t0 = time.time()
        while not cond():
            assert proc.poll() is None, f"driver exited ({proc.returncode}) while waiting for {what}:\n{driver_log()}"
            assert time.time() - t0 < timeout, f"timed out waiting for {what}"
            time.sleep(0.005)

    # the uninterrupted reference (also fills the compilation cache the later processes load from)
    ref_dir = tmp_path / "ref"
    proc = spawn(ref_dir)
    assert proc.wait(timeout=300) == 0, driver_log()
    reference = engine.load_dataset(ref_dir / "results.nc")
    assert_run_dir_consistent(ref_dir, KILL_N)

    out = tmp_path / "run"
    runlog = tmp_path / "computed.txt"
    # 36 chunks; "startup" first (it may finish many), random delays only while > 16 chunks remain, so
    # that every later round still finds chunks to write (hook rounds need 2)
    plan = ["chunk", "startup", "random", "manifest", "random", "chunk", "random", "manifest", "random", "random", "random", "random"]
    kills, mid_write, killed, trace = 0, [], [], []  # trace: how each round ended, chunks recorded after it
    previous: set = set()
    for i, how in enumerate(plan + ["save"]):
        mark = tmp_path / f"mark-{i}"
        done_before = len(manifest_records(out))
        remaining = KILL_N // 2 - done_before
        hooks = {"runlog": runlog, "mark": mark}
        if how in ("chunk", "manifest"):
            hooks["pause"] = f"{how}:2"  # one chunk completes, the second is killed mid-write
        elif how == "save":
            hooks["pause"] = "save:1"
        else:
            hooks["chunk_delay"] = 0.08
        proc = spawn(out, **hooks)
        if how == "startup":  # anywhere from import to the first chunks
            time.sleep(rng.uniform(0.2, 1.8))
        elif how == "random":  # once it writes, a random moment later (between, or in, chunk writes)
            wait_for(lambda: len(manifest_records(out)) > done_before, proc, "a new chunk")
            time.sleep(rng.uniform(0.0, 0.3) if remaining > 16 else 0.0)  # 0 to ~3 compute+write cycles
        else:
            wait_for(mark.exists, proc, f"the {how} pause")
        assert proc.poll() is None, f"round {i} ({how}): the sweep finished before it could be killed; {trace}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1

        # what a kill must never do: damage or drop a finished chunk, or corrupt the manifest
        records = assert_run_dir_consistent(out, KILL_N, complete=False)
        now = {(r["file"], r["sha256"]) for r in records}
        assert previous <= now, f"round {i} ({how}): a finished chunk was lost"
        previous = now
        if how == "chunk":  # killed between writing the chunk's tmp file and renaming it
            assert any(n.startswith(".chunk-") for n in leftovers(out)), leftovers(out)
            mid_write.append(how)
        if how == "manifest":  # the chunk was renamed into place, the manifest not yet updated
            listed = {r["file"] for r in records}
            assert [p for p in (out / "chunks").glob("chunk-*.npz") if p.name not in listed], "expected an unrecorded chunk"
            assert any(n.startswith(".manifest.json.tmp-") for n in leftovers(out))
            mid_write.append(how)
        if how == "save":  # every chunk done, killed while writing results.nc
            assert len(records) == KILL_N // 2
            assert any(n.startswith(".results.nc.tmp-") for n in leftovers(out)) and not (out / "results.nc").exists()
            mid_write.append(how)
        killed.append(proc.pid)
        trace.append(f"{how}:{len(records)}")
        if (out / ".lock").exists():  # a dead sweep's lock file is left behind, held by nobody (the next run locks it)
            owner = (out / ".lock").read_text()  # empty if killed between creating and writing it
            assert not owner or int(owner.rpartition(":")[2]) in killed

    # last resume: while it holds the lock, a second sweep into the same directory is refused and
    # changes nothing; then the first completes
    mark, release = tmp_path / "mark-final", tmp_path / "release"
    proc = spawn(out, pause="save:1", mark=mark, release=release, runlog=runlog)
    wait_for(mark.exists, proc, "the final pause")
    before = snapshot(out)
    with pytest.raises(RoteError, match="in use by another sweep"):
        engine.sweep(STUDY, KILL_BASE, KILL_AXES, out, chunk_size=2, progress=False, log=quiet)
    rc, _, err = run_cli(["sweep", "grokking", "--scale", "smoke", "--no-progress", "--out", str(out)])
    assert_one_line_error(rc, err)  # another study's directory, and in use: refused either way
    assert "in use" in err or "holds a toy sweep" in err, err
    assert snapshot(out) == before
    release.write_text("go")
    assert proc.wait(timeout=300) == 0, driver_log()

    records = assert_run_dir_consistent(out, KILL_N, complete=True)
    assert len(records) == KILL_N // 2
    resumed = engine.load_dataset(out / "results.nc")
    assert_bitwise_equal(resumed, reference)  # same machine, same seed: bitwise, across 15 processes
    assert json.loads(resumed.attrs["config"]) == json.loads(reference.attrs["config"])
    # a kill loses at most the chunk in flight: at most one chunk of 2 configs recomputed per kill
    computed = sum(int(line) for line in runlog.read_text().split() if line.isdigit())
    assert KILL_N <= computed <= KILL_N + 2 * kills, (computed, kills)
    assert kills >= 10 and sorted(set(mid_write)) == ["chunk", "manifest", "save"]
    print(f"[reliability] kill rounds (how:chunks recorded after): {' '.join(trace)}")
    report("kills and interrupts survived", kills)


# ==================================================================================================
# 2. Damaged results, foreign directories, locks
# ==================================================================================================


def _sweep_tiny(out, **kw):
    kw.setdefault("chunk_size", 4)
    kw.setdefault("progress", False)
    kw.setdefault("log", quiet)
    return engine.sweep(STUDY, TOY, TOY_AXES, out, **kw)


def _fake_npz(data: bytes) -> bytes:
    """A valid npz with the same keys and shapes but other numbers (only the checksum can tell)."""
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: (z[k] if k == "__configs__" else np.zeros_like(z[k])) for k in z.files}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at % len(b)] ^= 0x10
    return bytes(b)


DAMAGE = {
    "emptied": lambda d, other: b"",
    "truncated to half": lambda d, other: d[: len(d) // 2],
    "last byte cut": lambda d, other: d[:-1],
    "one bit flipped in the header": lambda d, other: _flip(d, 40),
    "one bit flipped in the data": lambda d, other: _flip(d, len(d) - 200),
    "garbage appended": lambda d, other: d + b"\0garbage",
    "swapped with another chunk": lambda d, other: other,
    "random bytes of the same length": lambda d, other: bytes(random.Random(len(d)).randrange(256) for _ in d),
    "a valid npz with other numbers": lambda d, other: _fake_npz(d),
    "deleted": lambda d, other: None,
}


def test_every_kind_of_damaged_chunk_is_detected_reported_and_recomputed(tmp_path, toy_ref4, monkeypatch):
    out = tmp_path / "run"
    _sweep_tiny(out)
    grid = engine.Grid.build(TOY, TOY_AXES)
    index = {c: i for i, c in enumerate(grid.configs)}
    calls = []
    original = engine.run_chunk
    monkeypatch.setattr(engine, "run_chunk", lambda s, cfgs, size: calls.append([index[c] for c in cfgs]) or original(s, cfgs, size))
    modes = list(DAMAGE.items())
    detected = 0
    for start in range(0, len(modes), 4):  # the 4 chunks, damaged in several ways at once
        records = manifest_records(out)
        damaged = {}
        for rec, (label, damage) in zip(records, modes[start : start + 4]):
            path = out / "chunks" / rec["file"]
            other = (out / "chunks" / next(r["file"] for r in records if r is not rec)).read_bytes()
            new = damage(path.read_bytes(), other)
            assert new is None or new != path.read_bytes()
            path.unlink() if new is None else path.write_bytes(new)
            damaged[rec["file"]] = (label, rec["configs"])
        calls.clear()
        log = Log()
        ds = _sweep_tiny(out, log=log)
        for name, (label, _) in damaged.items():  # reported, by name
            assert any(name in line and ("checksum" in line or "missing" in line) for line in log.lines), (label, log.text())
        assert sorted(i for c in calls for i in c) == sorted(i for _, cfgs in damaged.values() for i in cfgs)  # only those recomputed
        assert_metrics_close(ds, toy_ref4, METRICS, atol=0)
        assert_run_dir_consistent(out, len(grid))
        detected += len(damaged)
    assert detected == len(DAMAGE)
    report("damaged files detected", detected)


@given(which=st.integers(0, 3), offset=st.integers(0, 10**6), xor=st.integers(1, 255), cut=st.booleans())
@fuzz_settings(12)
def test_random_byte_damage_is_always_detected(tmp_path_factory, toy_ref4, which, offset, xor, cut):
    out = _damage_fixture_dir(tmp_path_factory)
    rec = manifest_records(out)[which]
    path = out / "chunks" / rec["file"]
    data = bytearray(path.read_bytes())
    if cut:
        data = data[: offset % len(data)]
    else:
        data[offset % len(data)] ^= xor
    path.write_bytes(bytes(data))
    log = Log()
    ds = _sweep_tiny(out, log=log)
    assert rec["file"] in log.text() and "checksum" in log.text()
    assert_metrics_close(ds, toy_ref4, METRICS, atol=0)
    assert_run_dir_consistent(out, 12)
    report("damaged files detected", 1)


_DAMAGE_DIR: list[Path] = []


def _damage_fixture_dir(tmp_path_factory) -> Path:
    if not _DAMAGE_DIR:
        out = tmp_path_factory.mktemp("bytes") / "run"
        _sweep_tiny(out)
        _DAMAGE_DIR.append(out)
    return _DAMAGE_DIR[0]


def _edit_manifest(out: Path, edit) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    edit(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))


MANIFEST_DAMAGE = {
    "truncated": lambda out: (out / "manifest.json").write_bytes((out / "manifest.json").read_bytes()[:100]),
    "emptied": lambda out: (out / "manifest.json").write_bytes(b""),
    "chunks not a list": lambda out: _edit_manifest(out, lambda m: m.update(chunks={"a": 1})),
    "record without checksum": lambda out: _edit_manifest(out, lambda m: m["chunks"][0].pop("sha256")),
    "record naming a path outside": lambda out: _edit_manifest(out, lambda m: m["chunks"][0].update(file="../../results.nc")),
    "record with junk configs": lambda out: _edit_manifest(out, lambda m: m["chunks"][0].update(configs=["x"])),
    "two records sharing a config": lambda out: _edit_manifest(out, lambda m: m["chunks"][1].update(configs=m["chunks"][0]["configs"])),
    "config outside the grid": lambda out: _edit_manifest(out, lambda m: m["chunks"][0].update(configs=[0, 1, 2, 99])),
}


def test_damaged_or_missing_manifest_is_rebuilt_from_the_chunks_own_records(tmp_path, toy_ref4, monkeypatch):
    """Each chunk file holds its config indices and its sweep, and its name holds its SHA-256: a damaged or
    deleted manifest is rebuilt from the chunks that verify, nothing finished is recomputed, and the
    damaged manifest is kept beside the new one."""
    clean = tmp_path / "clean"
    _sweep_tiny(clean)
    original = engine.run_chunk
    calls = []
    monkeypatch.setattr(engine, "run_chunk", lambda s_, cfgs, size: calls.append(len(cfgs)) or original(s_, cfgs, size))
    cases = {**MANIFEST_DAMAGE, "deleted": lambda out: (out / "manifest.json").unlink()}
    for i, (label, damage) in enumerate(cases.items()):
        out = tmp_path / f"run{i}"
        shutil.copytree(clean, out)
        (out / "results.nc").unlink()
        old_manifest = (out / "manifest.json").read_bytes()
        damage(out)
        damaged = (out / "manifest.json").read_bytes() if (out / "manifest.json").exists() else None
        log = Log()
        ds = _sweep_tiny(out, log=log)
        assert calls == [], (label, calls)  # every chunk verified and adopted
        assert "rebuilt the manifest from 4 verified chunk(s), 12 config(s)" in log.text(), (label, log.text())
        assert_metrics_close(ds, toy_ref4, METRICS, atol=0)
        records = assert_run_dir_consistent(out, 12)
        assert sorted(r["file"] for r in records) == sorted(r["file"] for r in json.loads(old_manifest)["chunks"]), label
        kept = sorted(out.glob("manifest.json.damaged-*"))
        assert (damaged is None and not kept) or (len(kept) == 1 and kept[0].read_bytes() == damaged), label
        assert not (out / ".lock").exists()
    report("damaged files detected", len(cases))


def _retag_chunk(path: Path, **record_changes) -> Path:
    """Rewrite a chunk as if another sweep (or rote version) had written it; its name holds the new digest."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    record = json.loads(str(arrays["__record__"]))
    for key, value in record_changes.items():
        record[key] = value(record[key]) if callable(value) else value
    arrays["__record__"] = np.asarray(json.dumps(record))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    path.unlink()
    new = path.with_name(path.name.rsplit("-", 1)[0] + f"-{hashlib.sha256(data).hexdigest()}.npz")
    new.write_bytes(data)
    return new


def test_a_manifest_that_cannot_be_rebuilt_safely_is_refused_and_nothing_is_touched(tmp_path):
    """Chunks of another sweep or version, or chunks that predate self-verifying names, cannot be told
    apart from this sweep's without the manifest: refused in one line with advice, directory unchanged."""
    clean = tmp_path / "clean"
    _sweep_tiny(clean)
    other_axes = lambda grid: {**grid, "axes": {**grid["axes"], "decay": [0.0, 2.0]}}  # noqa: E731
    cases = {
        "a chunk of another sweep": (lambda p: _retag_chunk(p, grid=other_axes), "another sweep"),
        "a chunk of another rote version": (lambda p: _retag_chunk(p, package_version="0.0.1"), "another sweep or rote version"),
        "a chunk named before chunks verified themselves": (lambda p: p.rename(p.with_name(p.name.rsplit("-", 1)[0] + "-0badf00d.npz")), "older rote"),
    }
    for i, (label, (change, fragment)) in enumerate(cases.items()):
        out = tmp_path / f"run{i}"
        shutil.copytree(clean, out)
        change(sorted((out / "chunks").iterdir())[1])
        (out / "manifest.json").write_text("{not json")
        before = snapshot(out)
        with pytest.raises(RoteError, match="corrupted manifest") as exc:
            _sweep_tiny(out)
        assert fragment in str(exc.value) and "nothing was changed" in str(exc.value) and "\n" not in str(exc.value), label
        assert snapshot(out) == before, label
    report("damaged files detected", len(cases))


def test_damaged_results_file_is_rebuilt_from_the_chunks_by_a_rerun(tmp_path):
    out = tmp_path / "run"
    first = _sweep_tiny(out)
    data = (out / "results.nc").read_bytes()
    (out / "results.nc").write_bytes(data[: len(data) // 2])
    with pytest.raises(RoteError, match="cannot read"):
        engine.load_dataset(out / "results.nc")
    again = _sweep_tiny(out)  # nothing to compute: the merge is redone from the chunks
    assert_bitwise_equal(engine.load_dataset(out / "results.nc"), again)
    for name in METRICS:
        np.testing.assert_array_equal(again[name].values, first[name].values)
    report("damaged files detected", 1)


def test_other_package_version_is_refused_by_the_cli_and_nothing_is_overwritten(tmp_path, cli_ref):
    out = tmp_path / "run"
    assert run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["package_version"] = "99.0"
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "chunks" / manifest["chunks"][0]["file"]).unlink()  # even a missing chunk is not recomputed
    before = snapshot(out)
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    assert_one_line_error(rc, err, "99.0", "another --out")
    assert snapshot(out) == before


def test_two_sweeps_racing_for_a_dead_sweeps_lock_cannot_both_take_it(tmp_path):
    """Both find the lock file of a dead process; exactly one locks it, the other is refused while the
    first holds it (threads: each its own open file description, as separate sweeps are)."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(f"{platform.node()}:{dead_pid()}")
    grid = engine.Grid.build(TOY, {})
    barrier = threading.Barrier(2)
    holders, refused = [], []

    def worker(i):
        run_dir = engine.RunDir(out, "toy", grid)
        barrier.wait()
        try:
            with run_dir.lock():
                holders.append(i)
                time.sleep(0.6)  # the other one decides while this one holds the lock
        except RoteError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(holders) == 1, (holders, refused)
    assert len(refused) == 1 and "in use by another sweep" in refused[0]
    assert not (out / ".lock").exists()


def test_the_lock_is_never_held_twice_while_holders_come_and_go(tmp_path):
    """Sweeps taking and releasing the lock over and over: a holder removes .lock on its way out, so a
    contender may lock the file just removed; it must see that and try again, never hold the lock beside
    the sweep that locked the new file."""
    out = tmp_path / "run"
    out.mkdir()
    grid = engine.Grid.build(TOY, {})
    n_threads = 4
    barrier, guard = threading.Barrier(n_threads), threading.Lock()
    state = {"inside": 0, "most": 0, "taken": 0, "refused": 0}
    errors = []

    def worker():
        run_dir = engine.RunDir(out, "toy", grid)
        barrier.wait()
        deadline = time.time() + 3.0
        while time.time() < deadline:
            try:
                with run_dir.lock():
                    with guard:
                        state["inside"] += 1
                        state["taken"] += 1
                        state["most"] = max(state["most"], state["inside"])
                    time.sleep(0.0005)
                    with guard:
                        state["inside"] -= 1
            except RoteError as exc:
                if "in use by another sweep" not in str(exc):
                    errors.append(str(exc))
                with guard:
                    state["refused"] += 1
            except Exception as exc:  # a thread's exception would be lost
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert state["most"] == 1, state
    assert state["taken"] > 20 and state["refused"] > 0, state
    assert not (out / ".lock").exists()


def test_leftovers_of_other_processes_are_removed_and_others_kept(tmp_path):
    out = tmp_path / "run"
    _sweep_tiny(out)
    dead, alive, own = dead_pid(), os.getppid(), os.getpid()
    planted = {
        out / "chunks" / f".chunk-0000000-0000003-deadbeef.npz.tmp-{dead}": False,
        out / f".manifest.json.tmp-{dead}": False,
        out / f".results.nc.tmp-{dead}": False,
        out / f".write-probe-{dead}": False,
        out / "chunks" / "chunk-0000004-0000007-0badf00d.npz": False,  # renamed, never recorded
        # a live process's too: no other sweep writes here while this one holds the lock (and pids are reused)
        out / "chunks" / f".chunk-0000000-0000003-deadbeef.npz.tmp-{alive}": False,
        out / "chunks" / f".chunk-0000000-0000003-deadbeef.npz.tmp-{own}": True,  # this process's own
        out / "notes.txt": True,  # not ours
    }
    for p in planted:
        p.write_bytes(b"x")
    log = Log()
    _sweep_tiny(out, log=log)
    for p, kept in planted.items():
        assert p.exists() == kept, p
    assert "removed 6 leftover" in log.text()
    assert_run_dir_consistent(out, 12, complete=False)


# ==================================================================================================
# 3. Bad input: fuzzed configs (every study) and command lines
# ==================================================================================================

JUNK_TEXT = st.text(max_size=6)
NUMBER_TEXT = st.one_of(
    st.sampled_from(["0", "1", "-1", "0.5", "1.5", "-0", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "1e-400", "1e39", "5e-324",
                     "2147483647", "2147483648", "-2147483649", "1" + "0" * 30, "9" * 5000, "", " ", "0x10", "1_0", "1e3", "true", "add", "mul"]),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    JUNK_TEXT,
)  # fmt: skip


def mostly(good, bad):
    """7 draws in 8 from ``good``, so that fully valid inputs are common enough to be checked too."""
    return st.integers(0, 7).flatmap(lambda k: bad if k == 0 else good)


def plausible_value(default):
    """Values near a parameter's default (mostly valid)."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(max(0, default // 2), max(1, default))
    if isinstance(default, float):
        return st.one_of(st.just(default), st.floats(0.0, 1.0), st.floats(0.0, 2 * abs(default) + 1))
    return st.just(default)


def value_strategy(default):
    """Values of every kind for a parameter whose default is ``default``: mostly plausible, else edge or junk."""
    anything = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-1e-30, 1e-30),
        st.sampled_from([1e39, 1e300, -1e300, 1e-40, 5e-324, -0.0, 2**31, 2**63, -(2**31) - 1]),
        JUNK_TEXT,
        st.complex_numbers(max_magnitude=10),
    )
    return mostly(plausible_value(default), anything)


def _base_of(study):
    return study.scale(next(iter(study.scales))).base


@pytest.mark.parametrize("name", studies.names())
@given(data=st.data())
@fuzz_settings(250)
def test_fuzzed_config_values_are_refused_or_used_exactly(name, data):
    """Any value for any parameter of any study: a ConfigError (one line), or a config the engine runs with
    exactly that value: traced values reach JAX without overflow, underflow or wrap-around."""
    study = studies.get(name)
    base = _base_of(study)
    fields = [f.name for f in dataclasses.fields(base)]
    chosen = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True), label="fields")
    changes = {f: data.draw(value_strategy(getattr(base, f)), label=f) for f in chosen}
    COUNTS["fuzzed inputs tried"] += 1
    try:
        grid = engine.Grid.build(base, {f: (v,) for f, v in changes.items()})
    except ConfigError as exc:
        assert str(exc).strip()  # a message (the CLI prints it on one line)
        event("refused")
        return
    event("accepted")
    cfg = grid.configs[0]
    stacked = engine.stack_params([cfg])
    for f, v in changes.items():
        assert getattr(cfg, f) is v  # stored as given
        if f in P.traced_fields(base) and isinstance(v, (int, float)) and not isinstance(v, bool):
            seen = np.asarray(jnp.asarray(getattr(stacked, f)))[0].item()
            if isinstance(v, float) and math.isnan(v):
                assert math.isnan(seen)
            else:
                assert seen == v or abs(seen - v) <= 2**-23 * abs(v), (f, v, seen)  # float32 rounding, no clamp


def _argv_strategy():
    names = studies.names()

    @st.composite
    def argv(draw):
        study = draw(mostly(st.sampled_from(names), st.sampled_from(["nosuchstudy", "", "Grokking", "grokking "])), label="study")
        known = studies.get(study) if study in names else None
        scales = list(known.scales) if known else ["smoke"]
        scale = draw(mostly(st.sampled_from(scales), st.sampled_from(["huge", "", "Smoke"])), label="scale")
        base = _base_of(known) if known else studies.get("grokking").params_type()
        fields = [f.name for f in dataclasses.fields(base)]
        sets = []
        for _ in range(draw(st.integers(0, 3))):
            name = draw(mostly(st.sampled_from(fields), st.sampled_from(["nonsense", "validate", "n_train", "__class__", "", "x y"])))
            good = plausible_value(getattr(base, name)).map(str) if name in fields else NUMBER_TEXT
            values = draw(st.lists(mostly(good, NUMBER_TEXT), min_size=1, max_size=3))
            sets += ["--set", name + draw(mostly(st.just("="), st.sampled_from([":", "", "=="]))) + ",".join(values)]
        junk_flags = st.sampled_from([["--chunk-size", "0"], ["--chunk-size", "-1"], ["--chunk-size", "many"], ["--chunk-size", "1e3"],
                                      ["--chunk-size", "9" * 25], ["--bogus"], ["--scale"], ["extra"]])  # fmt: skip
        extra = draw(mostly(st.sampled_from([[], [["--chunk-size", "4"]]]), st.lists(junk_flags, min_size=1, max_size=2)))
        return ["sweep", study, "--scale", scale, "--no-progress", *sets, *[a for e in extra for a in e]]

    return argv()


@given(argv=_argv_strategy())
@fuzz_settings(300)
def test_fuzzed_command_lines_run_or_fail_in_one_line_with_exit_2(argv, tmp_path_factory, monkeypatch):
    """Every study, scale and parameter (and junk) through `rote sweep`, with the compute stubbed out after
    the engine has validated the grid, checked memory, and created, locked and checked the directory."""
    seen_grids = []

    def stub(study, grid, run_dir, scale, chunk_size, progress, log, t0, label):
        seen_grids.append(grid)
        return xr.Dataset(attrs={"n_configs": len(grid)})

    monkeypatch.setattr(engine, "_sweep_locked", stub)
    out = tmp_path_factory.mktemp("fuzz") / "out"
    rc, _, err = run_cli([*argv, "--out", str(out)])
    COUNTS["fuzzed inputs tried"] += 1
    assert "Traceback" not in err
    event(f"exit {rc}")
    if rc != 0:
        assert_one_line_error(rc, err)
        assert not (out / ".lock").exists() and not (out / "manifest.json").exists()
        return
    assert seen_grids
    # accepted: every value given reached the grid unchanged (no clamping, no rounding beyond parsing)
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    for item in sets:
        name, _, values = item.partition("=")
        for grid in seen_grids:
            got = grid.axes[name] if name in grid.axes else (getattr(grid.base, name),)
            for text, value in zip(values.split(","), got):
                if isinstance(value, str):
                    assert value == text
                elif isinstance(value, bool):
                    assert value == cli._parse_bool(text), (name, text, value)
                else:
                    assert float(value) == float(text.strip().replace("_", "")) or (math.isnan(float(value)) and math.isnan(float(text))), (name, text, value)


TRACED_GROKKING = ("xi", "weight_decay", "lr", "seed")
REAL_RUN = [
    "sweep", "grokking", "--scale", "smoke", "--no-progress", "--chunk-size", "4",
    "--set", "p=11", "--set", "N=16", "--set", "steps=20", "--set", "log_every=10", "--set", "alpha=0.5",
]  # fmt: skip


PLAUSIBLE_TRACED = {
    "xi": st.floats(0.0, 1.0).map(repr),
    "weight_decay": st.one_of(st.floats(0.0, 20.0), st.sampled_from([1e10, 3e38])).map(repr),
    "lr": st.one_of(st.floats(1e-4, 1.0), st.sampled_from([1e6, 1e30, 3e38])).map(repr),  # some diverge
    "seed": st.integers(0, 2**31 - 1).map(str),
}


@given(
    sets=st.dictionaries(
        st.sampled_from(TRACED_GROKKING),
        st.just(None),
        min_size=1,
        max_size=2,
    ).flatmap(lambda keys: st.fixed_dictionaries({k: st.lists(mostly(PLAUSIBLE_TRACED[k], NUMBER_TEXT), min_size=1, max_size=2) for k in keys}))
)
@fuzz_settings(40)
def test_fuzzed_values_of_a_real_sweep_run_or_fail_in_one_line(sets, tmp_path_factory):
    """Traced values (they do not change what is compiled) through a real tiny sweep: it runs, flags any
    divergence, and stores exactly the values given; or it fails in one line with exit 2."""
    out = tmp_path_factory.mktemp("real") / "out"
    argv = [*REAL_RUN, "--out", str(out)]
    for name, values in sets.items():
        argv += ["--set", f"{name}={','.join(values)}"]
    rc, _, err = run_cli(argv)
    COUNTS["fuzzed inputs tried"] += 1
    assert "Traceback" not in err and "Warning" not in err, err
    event(f"exit {rc}")
    if rc != 0:
        assert_one_line_error(rc, err)
        assert not (out / "results.nc").exists()
        return
    ds = engine.load_dataset(out / "results.nc")
    for name, values in sets.items():
        stored = ds[name].values if name in ds.coords else [json.loads(ds.attrs["config"])["base"][name]]
        np.testing.assert_array_equal(np.asarray(stored, dtype=float), [float(v) for v in values])
    bad = ~np.isfinite(ds["train_loss"]).all("step") | ~np.isfinite(ds["test_loss"]).all("step")
    np.testing.assert_array_equal(ds["diverged"].values, bad.values)
    assert (ds["phase"].values[ds["diverged"].values] == -1).all()
    assert_run_dir_consistent(out, int(ds.attrs["n_configs"]))


def test_a_config_larger_than_the_machine_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "o"
    rc, _, err = run_cli(["sweep", "grokking", "--scale", "smoke", "--no-progress", "--out", str(out), "--set", "N=100000000"])
    assert_one_line_error(rc, err, "GiB", "N=100000000")
    assert not out.exists()


def test_out_of_device_memory_during_a_chunk_is_one_line_and_keeps_finished_chunks(tmp_path, monkeypatch, cli_ref):
    original, calls = engine.run_chunk, []

    def oom_on_third(study, configs, size):
        calls.append(1)
        if len(calls) == 3:
            raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 123456789 bytes.")
        return original(study, configs, size)

    monkeypatch.setattr(engine, "run_chunk", oom_on_third)
    out = tmp_path / "o"
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    assert_one_line_error(rc, err, "out of device memory", "--chunk-size")
    assert len(assert_run_dir_consistent(out, 12, complete=False)) == 2
    monkeypatch.setattr(engine, "run_chunk", original)
    assert run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])[0] == 0
    assert_bitwise_equal(engine.load_dataset(out / "results.nc"), cli_ref)


# ==================================================================================================
# 4. Divergence
# ==================================================================================================


def test_divergence_is_flagged_with_its_step_kept_on_resume_and_excluded_by_verify(tmp_path, monkeypatch, cli_ref):
    out = tmp_path / "div"
    argv = ["sweep", "grokking", *CLI_TINY, "--set", "lr=0.01,1000000.0", "--out", str(out)]
    rc, stdout, err = run_cli(argv)
    assert rc == 0, err
    assert "12 config(s) diverged" in err
    ds = engine.load_dataset(out / "results.nc")
    div = ds["diverged"]
    np.testing.assert_array_equal(div.sel(lr=0.01).values, False)
    np.testing.assert_array_equal(div.sel(lr=1e6).values, True)
    steps = ds["diverged_step"].sel(lr=1e6).values
    assert ((steps > 0) & (steps <= 20)).all()
    for idx in np.ndindex(steps.shape):  # the step flagged is the first non-finite loss
        loss = ds["train_loss"].sel(lr=1e6).values[idx]
        assert ds["step"].values[np.argmax(~np.isfinite(loss))] == steps[idx]
    assert (ds["phase"].sel(lr=1e6).values == -1).all()
    # each chunk of 4 mixes both lr values: the healthy half of every chunk equals the healthy-only sweep
    assert_metrics_close(ds.sel(lr=0.01), cli_ref, tuple(studies.get("grokking").metric_dims), atol=1e-6)

    # resume from the chunks: nothing recomputed, the same flags
    rc, _, err = run_cli(argv)
    assert rc == 0 and "12/24" not in err and "24/24" in err
    assert_bitwise_equal(engine.load_dataset(out / "results.nc"), ds)

    # verify names every diverged config and its step, and no claim sees their numbers
    received = []

    def recording(evidence):
        received.append(evidence)
        return "ok", True

    with_claims(monkeypatch, "grokking", lambda scale: [Claim("recording", "-", "-", recording)])
    rc, stdout, err = run_cli(["verify", "grokking", "--scale", "smoke", "--no-progress", "--results", str(out)])
    assert rc == 0, stdout + err
    assert "12 diverged config(s) excluded from the claims" in stdout
    listed = [line for line in stdout.splitlines() if "diverged at step" in line]
    assert len(listed) == 10 and "and 2 more" in stdout  # capped list
    assert re.search(r"alpha=0\.5, xi=0\.0, weight_decay=0\.0, lr=1000000\.0 diverged at step \d+", stdout)
    seen = received[0]
    for name in ("train_acc", "test_acc", "final_train_acc", "ipr", "test_peak"):
        assert bool(seen[name].sel(lr=1e6).isnull().all()), name
        assert bool(seen[name].sel(lr=0.01).notnull().all()), name
    assert (seen["phase"].sel(lr=1e6).values == -1).all()


def test_claims_ignore_phase_minus_one(tmp_path):
    """The sweep-wide claim (unlearning) picks cells by phase; a diverged cell (-1) is never one of them."""
    ds = xr.Dataset(
        {
            "phase": (("alpha", "xi", "weight_decay"), np.full((1, 1, 2), -1, np.int8)),
            "train_acc": (("alpha", "xi", "weight_decay", "step"), np.full((1, 1, 2, 3), np.nan)),
        },
        coords={"alpha": [0.5], "xi": [0.35], "weight_decay": [0.0, 5.0], "step": [0, 10, 20]},
    )
    claims = inspect.getmodule(studies.get("grokking").claims)  # the study's claims module, wherever it lives
    measured, passed = claims.check_unlearning(ds, (((0.5, 0.35, 5.0), claims.Phase.PARTIAL_INVERSION),), 47)
    assert not passed and "diverged" in measured


# ==================================================================================================
# 5. Determinism across processes and device counts
# ==================================================================================================

_RESUME_2DEV = textwrap.dedent(
    """
    import sys
    import jax
    from engine.toy_study import STUDY, TOY, TOY_AXES
    from rote.sims import engine
    assert jax.local_device_count() == 2
    engine.sweep(STUDY, TOY, TOY_AXES, sys.argv[1], chunk_size=4, progress=False, log=lambda m: None)
    """
)


def test_a_sweep_started_on_one_device_and_resumed_on_two_equals_one_device(tmp_path, toy_ref4, monkeypatch):
    if jax.local_device_count() != 1 or jax.default_backend() != "cpu":
        pytest.skip("needs a single-device CPU parent")
    out = tmp_path / "run"
    original, done = engine.run_chunk, []

    def interrupted(study_, configs, size):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(1)
        return original(study_, configs, size)

    monkeypatch.setattr(engine, "run_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _sweep_tiny(out)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(TESTS)}
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    proc = subprocess.run([sys.executable, "-c", _RESUME_2DEV, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = assert_run_dir_consistent(out, 12)
    assert sorted(r["device"].split("x")[0] for r in records) == ["1", "1", "2", "2"]
    ds = engine.load_dataset(out / "results.nc")
    assert ds.attrs["device"].startswith("2x")
    assert_metrics_close(ds, toy_ref4, METRICS, atol=1e-6)


# ==================================================================================================
# 6. Disk: full, failing or read-only while a sweep writes
# ==================================================================================================


def _failing_fsync(n: int, code: int):
    """os.fsync that fails on the nth fsync of a regular file (the directory fsyncs do not count)."""
    import stat

    real, count = os.fsync, [0]

    def fsync(fd):
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            count[0] += 1
            if count[0] == n:
                raise OSError(code, os.strerror(code))
        return real(fd)

    return fsync


# per chunk: chunk file, then manifest. fsync 1 = chunk 1, 2 = manifest after chunk 1, 5 = chunk 3, ...
DISK_FAULTS = {
    "disk full writing the first chunk": ("fsync", 1, errno.ENOSPC, 0),
    "disk full writing the manifest": ("fsync", 4, errno.ENOSPC, 1),
    "disk full writing the third chunk": ("fsync", 5, errno.ENOSPC, 2),
    "quota exceeded": ("fsync", 3, errno.EDQUOT, 1),
    "I/O error": ("fsync", 7, errno.EIO, 3),
    "directory made read-only": ("open", 3, errno.EROFS, 1),
    "permission lost": ("open", 2, errno.EACCES, 0),
    "disk full writing results.nc": ("fsync", 9, errno.ENOSPC, 4),
    "I/O error writing results.nc": ("open", 9, errno.EIO, 4),
}


@pytest.mark.parametrize("fault", list(DISK_FAULTS))
def test_full_or_unwritable_disk_is_one_line_and_written_chunks_stay_resumable(fault, tmp_path, monkeypatch, cli_ref):
    where, n, code, kept = DISK_FAULTS[fault]
    if where == "fsync":
        monkeypatch.setattr(os, "fsync", _failing_fsync(n, code))
    else:
        real_open, count = open, [0]

        def failing_open(path, mode="r", *a, **k):
            if "w" in mode and ".tmp-" in str(path):
                count[0] += 1
                if count[0] == n:
                    raise OSError(code, os.strerror(code), str(path))
            return real_open(path, mode, *a, **k)

        monkeypatch.setattr(atomic, "open", failing_open, raising=False)
    report("write faults injected", 1)
    out = tmp_path / "run"
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    assert_one_line_error(rc, err, os.strerror(code))
    monkeypatch.undo()
    # what was recorded before the fault is intact; nothing half-written or locked is left
    records = assert_run_dir_consistent(out, 12, complete=False)
    assert len(records) == kept, records
    assert leftovers(out) == [] and not (out / ".lock").exists() and not (out / "results.nc").exists()
    if not (out / "manifest.json").exists():  # failed before the first manifest: the chunks in place verify themselves
        records = [{"configs": list(np.load(p)["__configs__"])} for p in (out / "chunks").glob("chunk-*.npz")]
    # once the disk is back, the same command resumes and computes only what is missing
    computed = []
    original = engine.run_chunk
    monkeypatch.setattr(engine, "run_chunk", lambda s, cfgs, size: computed.append(len(cfgs)) or original(s, cfgs, size))
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    assert rc == 0, err
    assert sum(computed) == 12 - sum(len(r["configs"]) for r in records)  # chunks of 4 + 2 per alpha group
    assert_run_dir_consistent(out, 12)
    assert_bitwise_equal(engine.load_dataset(out / "results.nc"), cli_ref)


# --------------------------------------------------------------------------------------------------
# a real small filesystem (tmpfs; root only, as the tests run here and in CI), and the figures' writes
# --------------------------------------------------------------------------------------------------

PAGE = 4096


@pytest.fixture
def small_fs(tmp_path):
    """mount(bytes, *options) -> the path of a fresh tmpfs of that size, unmounted after the test. Skips
    the test where tmpfs cannot be mounted (not root, or no mount permission)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (the injected faults above cover the rest)")
    mounted = []

    def mount(size: int, *options: str) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        opts = ",".join([f"size={size}", *options])
        if subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", str(where)], capture_output=True)


def remount(where: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True, capture_output=True)


def pages(path: Path) -> int:
    return -(-path.stat().st_size // PAGE)


def subprocess_env() -> dict:
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": path, "MPLBACKEND": "Agg"}


def test_a_full_disk_while_results_nc_is_written_is_one_line_in_a_real_process(small_fs, tmp_path):
    """The issue's case: chunks fit, results.nc does not. A real `python -m rote` process: exit 2, one line,
    no h5py "Exception ignored" noise, no crash, nothing left behind; freeing space resumes it. (CLI_TINY
    at one alpha: one compile in the subprocess; the in-process reference reuses cli_ref's.)"""
    argv = ["alpha=0.5" if a == "alpha=0.5,0.7" else a for a in CLI_TINY]
    ref = tmp_path / "ref"
    assert run_cli(["sweep", "grokking", *argv, "--out", str(ref)])[0] == 0
    chunk_pages = sum(pages(p) for p in (ref / "chunks").iterdir())
    fs = small_fs(PAGE * (chunk_pages + 2 * pages(ref / "manifest.json") + pages(ref / "results.nc") // 2))
    out = fs / "run"
    proc = subprocess.run([sys.executable, "-m", "rote", "sweep", "grokking", *argv, "--out", str(out)], env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)
    report("write faults injected", 1)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])  # 139 / -11 was the crash
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rote: error: cannot write") and "results.nc" in lines[0], proc.stderr[-3000:]
    assert "No space left on device" in lines[0]
    assert len(assert_run_dir_consistent(out, 6, complete=False)) == 2
    assert leftovers(out) == [] and not (out / ".lock").exists() and not (out / "results.nc").exists()
    remount(fs, 4 << 20)  # space freed: the same command writes results.nc without computing anything
    rc, _, err = run_cli(["sweep", "grokking", *argv, "--out", str(out)])
    assert rc == 0 and "6/6 configs already done" in err, err
    assert_bitwise_equal(engine.load_dataset(out / "results.nc"), engine.load_dataset(ref / "results.nc"))


def test_a_disk_full_before_the_first_chunk_fits_is_one_line(small_fs, cli_ref_dir, cli_ref):
    first = min(p.stat().st_size for p in (cli_ref_dir / "chunks").iterdir())
    fs = small_fs(PAGE * ((first // PAGE) - 1))
    out = fs / "run"
    rc, _, err = run_cli(["sweep", "grokking", *CLI_TINY, "--out", str(out)])
    report("write faults injected", 1)
    assert_one_line_error(rc, err, "No space left on device", "chunk-")
    assert assert_run_dir_consistent(out, 12, complete=False) == [] and leftovers(out) == [] and not (out / ".lock").exists()


def _complete_png(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[-12:-8] == b"\0\0\0\0" and data[-8:-4] == b"IEND"


def without_warnings(err: str) -> str:
    """stderr without the warning that CLI_TINY's results are not the smoke scale's own configuration."""
    return "\n".join(line for line in err.splitlines() if not line.startswith("rote: warning:"))


def test_figures_into_a_full_or_read_only_filesystem_are_one_line(small_fs, cli_ref_dir):
    full = small_fs(96 * 1024)
    rc, out, err = run_cli(["figures", "grokking", "--scale", "smoke", "--results", str(cli_ref_dir), "--out", str(full / "figs")])
    err = without_warnings(err)
    report("write faults injected", 1)
    assert_one_line_error(rc, err, "cannot write", "No space left on device")
    written = sorted((full / "figs").iterdir())
    assert all(_complete_png(p) for p in written) and leftovers(full) == [], [p.name for p in written]
    assert all(f"rote: wrote {p}" in out for p in written)  # each announced once it was in place

    read_only = small_fs(1 << 20, "ro")
    rc, _, err = run_cli(["figures", "grokking", "--scale", "smoke", "--results", str(cli_ref_dir), "--out", str(read_only)])
    err = without_warnings(err)
    report("write faults injected", 1)
    assert_one_line_error(rc, err, "cannot write figure directory", "Read-only file system")
    assert list(read_only.iterdir()) == []


def test_a_failing_figure_write_is_one_line_and_leaves_no_partial_file(tmp_path, cli_ref_dir, monkeypatch):
    """Injected (runs anywhere): the third figure's write fails half-way."""
    from matplotlib.figure import Figure

    real, calls = Figure.savefig, []

    def failing(self, fname, *a, **k):
        calls.append(fname)
        if len(calls) == 3:
            Path(fname).write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, fname, *a, **k)

    monkeypatch.setattr(Figure, "savefig", failing)
    figs = tmp_path / "figs"
    rc, _, err = run_cli(["figures", "grokking", "--scale", "smoke", "--results", str(cli_ref_dir), "--out", str(figs)])
    err = without_warnings(err)
    report("write faults injected", 1)
    assert_one_line_error(rc, err, "cannot write", "No space left on device")
    assert len(list(figs.iterdir())) == 2 and all(_complete_png(p) for p in figs.iterdir()) and leftovers(figs) == []


# ==================================================================================================
# 7. SIGINT and SIGTERM: a real `python -m rote sweep` stops at once, even inside a chunk of minutes
# ==================================================================================================

ALLOWED_DELAY_S = 5.0
# steps=20 (one quick chunk, recorded) then steps=10^7: about 0.1 ms per step here, so that chunk would run
# for well over 15 minutes; the signal arrives while it runs
LONG_CHUNK = [
    "--scale", "smoke", "--no-progress", "--chunk-size", "4", "--set", "p=11", "--set", "N=16", "--set", "log_every=20",
    "--set", "alpha=0.5", "--set", "xi=0.0,0.3", "--set", "weight_decay=0.0,1.0", "--set", "steps=20,10000000",
]  # fmt: skip


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_a_long_chunk_within_seconds_and_keeps_finished_chunks(sig, code, tmp_path_factory):
    out = tmp_path_factory.mktemp("signal") / "run"
    env = {**subprocess_env(), "JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "jax-cache-signal"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "rote", "sweep", "grokking", *LONG_CHUNK, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while not manifest_records(out):  # the quick chunk is recorded; the long one starts
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.time() - t0 < 300, "no chunk finished"
            time.sleep(0.05)
        time.sleep(3.0)  # well inside the long chunk (its compile takes about a second)
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after {sig.name}")
        delay = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, (proc.returncode, err[-3000:])  # -11 / 139 was the crash
    assert delay < ALLOWED_DELAY_S, delay
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted; finished chunks are kept" in lines[0] and sig.name in lines[0], err[-3000:]
    records = assert_run_dir_consistent(out, 8, complete=False)
    assert [len(r["configs"]) for r in records] == [4]  # the finished chunk, intact; the one in flight abandoned
    assert leftovers(out) == [] and not (out / ".lock").exists() and not (out / "results.nc").exists()
    print(f"[reliability] {sig.name}: exit {proc.returncode} {delay:.2f} s after the signal")
    report("kills and interrupts survived", 1)
