"""The sweep engine: vmapped equals alone, determinism, grid layout, static groups, padding, resume,
damaged files, locking, provenance, divergence, netCDF, and sharding over two host devices."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr

from conftest import TINY, TINY_AXES, assert_metrics_close, quiet
from rote.sims import engine
from rote.sims.errors import ConfigError, RoteError
from rote.sims.studies import grokking


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


class Log:
    """Collects the engine's log lines."""

    def __init__(self):
        self.lines = []

    def __call__(self, msg):
        self.lines.append(msg)

    def text(self):
        return "\n".join(self.lines)


@pytest.fixture
def count_runs(monkeypatch):
    """Wrap engine.run_chunk and record the configs each call computes."""
    calls = []
    original = engine.run_chunk

    def wrapped(study, configs, chunk_size):
        calls.append(list(configs))
        return original(study, configs, chunk_size)

    monkeypatch.setattr(engine, "run_chunk", wrapped)
    return calls


def computed_indices(calls, grid):
    index = {c: i for i, c in enumerate(grid.configs)}
    return sorted(index[c] for call in calls for c in call)


def sweep_dir(study, out, **kw):
    kw.setdefault("chunk_size", 4)
    kw.setdefault("progress", False)
    kw.setdefault("log", quiet)
    return engine.sweep(study, TINY, TINY_AXES, out, **kw)


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def cell_of(ds, cfg, axes=TINY_AXES):
    return ds.sel({a: getattr(cfg, a) for a in axes})


# --------------------------------------------------------------------------------------------------
# vmapped == alone, determinism
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("i", [0, 5, 7, 11])
def test_vmapped_chunk_equals_config_run_alone(study, tiny_ref, metric_names, i):
    grid = engine.Grid.build(TINY, TINY_AXES)
    cfg = grid.configs[i]
    alone = engine.run_one(study, cfg)
    cell = cell_of(tiny_ref, cfg)
    assert_metrics_close(cell, alone, metric_names, atol=1e-6)
    # and not trivially: a neighbouring config is different
    other = cell_of(tiny_ref, grid.configs[i ^ 1])
    assert not np.allclose(other["ipr"], alone["ipr"], atol=1e-6)


def test_same_seed_twice_is_bitwise_identical(study, tiny_ref, metric_names):
    again = engine.sweep(study, TINY, TINY_AXES, None, chunk_size=6, progress=False, log=quiet)
    for name in metric_names:
        np.testing.assert_array_equal(again[name].values, tiny_ref[name].values, err_msg=name)


def test_different_seeds_differ_and_keys_do_not_depend_on_position(study, metric_names):
    seeds = (0, 1, 2, 3, 4, 5)
    fwd = engine.sweep(study, TINY, {"seed": seeds}, None, chunk_size=6, progress=False, log=quiet)
    ipr = fwd["ipr"].values
    for a in range(len(seeds)):
        for b in range(a + 1, len(seeds)):
            assert not np.allclose(ipr[a], ipr[b]), (a, b)
    assert len(set(np.round(fwd["train_loss"].isel(step=0).values, 7))) == len(seeds)
    # the key comes from the seed alone: the same seeds in reverse order give the same numbers
    rev = engine.sweep(study, TINY, {"seed": seeds[::-1]}, None, chunk_size=6, progress=False, log=quiet)
    assert_metrics_close(fwd, rev.sel(seed=list(seeds)), metric_names, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# Grid and Dataset layout
# --------------------------------------------------------------------------------------------------


def test_grid_is_flattened_in_c_order():
    grid = engine.Grid.build(TINY, TINY_AXES)
    assert grid.shape == (2, 3, 2) and len(grid) == 12
    for i, cfg in enumerate(grid.configs):
        a, x, w = np.unravel_index(i, grid.shape)
        assert (cfg.alpha, cfg.xi, cfg.weight_decay) == (TINY_AXES["alpha"][a], TINY_AXES["xi"][x], TINY_AXES["weight_decay"][w])
        assert (cfg.p, cfg.N, cfg.steps, cfg.seed) == (TINY.p, TINY.N, TINY.steps, TINY.seed)
    # last axis fastest
    assert grid.configs[1].weight_decay == 1.0 and grid.configs[1].xi == 0.0
    assert grid.configs[2].xi == 0.3 and grid.configs[6].alpha == 0.7


def test_grid_converts_numpy_scalars_and_rejects_bad_axes():
    grid = engine.Grid.build(TINY, {"xi": np.array([0.0, 0.25])})
    assert all(type(c.xi) is float for c in grid.configs)
    with pytest.raises(RoteError, match="unknown grid axis"):
        engine.Grid.build(TINY, {"nonsense": (1, 2)})
    with pytest.raises(RoteError, match="no values"):
        engine.Grid.build(TINY, {"xi": ()})
    with pytest.raises(RoteError, match="repeats"):
        engine.Grid.build(TINY, {"xi": (0.1, 0.1)})
    with pytest.raises(ConfigError):
        engine.Grid.build(TINY, {"xi": (0.1, 1.5)})


def test_dataset_dims_and_coords(tiny_ref):
    ds = tiny_ref
    for name in grokking.CURVES:
        assert ds[name].dims == ("alpha", "xi", "weight_decay", "step")
    assert ds["ipr"].dims == ("alpha", "xi", "weight_decay", "neuron")
    for axis, values in TINY_AXES.items():
        np.testing.assert_array_equal(ds[axis].values, values)
    np.testing.assert_array_equal(ds["step"].values, [0, 10, 20])
    np.testing.assert_array_equal(ds["neuron"].values, np.arange(TINY.N))
    assert ds["diverged"].dims == ("alpha", "xi", "weight_decay")
    assert ds["phase"].dims == ("alpha", "xi", "weight_decay")
    assert ds["train_acc"].shape == (2, 3, 2, 3)
    # xi = 0 leaves the corrupted subset empty: NaN by definition, which is not divergence
    assert bool(ds["corrupt_acc"].sel(xi=0.0).isnull().all())
    assert bool(ds["corrupt_acc"].sel(xi=0.3).notnull().all())
    assert not bool(ds["diverged"].any())
    assert (ds["diverged_step"].values == -1).all()


def test_static_groups(study, tiny_ref, metric_names):
    grid = engine.Grid.build(TINY, TINY_AXES)
    groups = grid.groups()
    assert sorted(groups.values()) == [list(range(6)), list(range(6, 12))]
    # a static axis that is not the slowest interleaves the groups; merge must still place each config
    axes = {"xi": TINY_AXES["xi"], "alpha": TINY_AXES["alpha"], "weight_decay": TINY_AXES["weight_decay"]}
    grid2 = engine.Grid.build(TINY, axes)
    assert sorted(grid2.groups().values()) == [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    ds = engine.sweep(study, TINY, axes, None, chunk_size=6, progress=False, log=quiet)
    assert ds["train_acc"].dims == ("xi", "alpha", "weight_decay", "step")
    assert_metrics_close(ds.transpose("alpha", "xi", "weight_decay", ...), tiny_ref, metric_names, atol=1e-6)
    # the two alpha groups really differ (the comparison above is not between identical halves)
    assert not np.allclose(tiny_ref["train_loss"].sel(alpha=0.5), tiny_ref["train_loss"].sel(alpha=0.7))


def test_static_axis_with_different_metric_coords_is_aligned(study):
    """steps is static and changes the `step` coordinate: the union is used, NaN beyond a run's end."""
    ds = engine.sweep(study, TINY, {"steps": (20, 40), "xi": (0.0, 0.3)}, None, progress=False, log=quiet)
    np.testing.assert_array_equal(ds["step"].values, [0, 10, 20, 30, 40])
    short, long_ = ds.sel(steps=20), ds.sel(steps=40)
    assert bool(short["train_loss"].sel(step=[30, 40]).isnull().all())
    assert bool(long_["train_loss"].notnull().all())
    # the first 20 steps of the 40-step run are the 20-step run (same seed, same trajectory)
    np.testing.assert_allclose(short["train_loss"].sel(step=[0, 10, 20]), long_["train_loss"].sel(step=[0, 10, 20]), atol=1e-6)


def test_alignment_padding_is_not_divergence(study):
    log = Log()
    ds = engine.sweep(study, TINY, {"steps": (20, 40), "xi": (0.0, 0.3)}, None, progress=False, log=log)
    assert not bool(ds["diverged"].any())
    assert (ds["diverged_step"].values == -1).all()
    assert "diverged" not in log.text()


def test_single_axis_and_no_axis_sweeps(study, tiny_ref, metric_names):
    one = engine.sweep(study, TINY, {"xi": TINY_AXES["xi"]}, None, chunk_size=4, progress=False, log=quiet)
    assert one["train_acc"].dims == ("xi", "step")
    assert_metrics_close(one, tiny_ref.sel(alpha=0.5, weight_decay=0.0), metric_names, atol=1e-6)
    none = engine.sweep(study, TINY, {}, None, progress=False, log=quiet)
    assert none["train_acc"].dims == ("step",)
    assert_metrics_close(none, tiny_ref.sel(alpha=0.5, xi=0.0, weight_decay=0.0), metric_names, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# chunking and padding
# --------------------------------------------------------------------------------------------------


def test_padding_gives_the_same_numbers(tiny_ref, tiny_ref4, metric_names, count_runs, study):
    assert_metrics_close(tiny_ref4, tiny_ref, metric_names, atol=1e-6)
    count_runs.clear()
    # a request larger than a group (64 > 6)
    big = engine.sweep(study, TINY, TINY_AXES, None, chunk_size=64, progress=False, log=quiet)
    assert_metrics_close(big, tiny_ref, metric_names, atol=1e-6)
    assert sorted(len(c) for c in count_runs) == [6, 6]
    # a size that does not divide the group (5: 5 + 1 padded)
    count_runs.clear()
    odd = engine.sweep(study, TINY, TINY_AXES, None, chunk_size=5, progress=False, log=quiet)
    assert sorted(len(c) for c in count_runs) == [1, 1, 5, 5]
    assert_metrics_close(odd, tiny_ref, metric_names, atol=1e-6)


def test_choose_chunk_size(study):
    n_dev = jax.local_device_count()
    assert engine.choose_chunk_size(study, TINY, 100, requested=5) % n_dev == 0
    assert engine.choose_chunk_size(study, TINY, 3, requested=100) == max(n_dev, -(-3 // n_dev) * n_dev)
    auto = engine.choose_chunk_size(study, TINY, 1000)
    assert 1 <= auto <= 4096 and auto % n_dev == 0
    if jax.default_backend() == "cpu":
        assert auto <= 16 * n_dev


def test_automatic_chunks_are_balanced_not_padded(study, monkeypatch):
    """Under a cap of 4 per device: the fewest chunks, as narrow as they can be."""
    if jax.default_backend() != "cpu" or jax.device_count() != 1:
        pytest.skip("the CPU cap of 4 configs on one device")
    assert [engine.choose_chunk_size(study, TINY, n) for n in (1, 3, 4, 5, 6, 9, 15, 30, 32)] == [1, 3, 4, 3, 3, 3, 4, 4, 4]
    assert engine.choose_chunk_size(study, TINY, 6, requested=4) == 4  # a request is kept as asked


# --------------------------------------------------------------------------------------------------
# run directory: resume, damage, foreign sweeps, locks, permissions
# --------------------------------------------------------------------------------------------------


def test_run_dir_layout_and_rerun_computes_nothing(study, tmp_path, tiny_ref4, metric_names, count_runs):
    out = tmp_path / "run"
    ds = sweep_dir(study, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"] == engine.Grid.build(TINY, TINY_AXES).fingerprint("grokking")
    assert len(manifest["chunks"]) == 4
    assert sorted(i for rec in manifest["chunks"] for i in rec["configs"]) == list(range(12))
    assert sorted(p.name for p in (out / "chunks").iterdir()) == sorted(rec["file"] for rec in manifest["chunks"])
    assert (out / "results.nc").exists() and not (out / ".lock").exists()
    assert_metrics_close(ds, tiny_ref4, metric_names, atol=0)
    count_runs.clear()
    log = Log()
    again = sweep_dir(study, out, log=log)
    assert count_runs == []
    assert "12/12" in log.text()
    assert_metrics_close(again, ds, metric_names, atol=0)
    assert_metrics_close(engine.load_dataset(out / "results.nc"), ds, metric_names, atol=0)


def _first_record(out):
    return json.loads((out / "manifest.json").read_text())["chunks"][0]


def test_resume_after_a_chunk_file_is_deleted(study, tmp_path, metric_names, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(study, out)
    rec = _first_record(out)
    (out / "chunks" / rec["file"]).unlink()
    count_runs.clear()
    log = Log()
    again = sweep_dir(study, out, log=log)
    assert computed_indices(count_runs, engine.Grid.build(TINY, TINY_AXES)) == rec["configs"]
    assert "missing" in log.text() and rec["file"] in log.text()
    assert_metrics_close(again, full, metric_names, atol=0)
    assert (out / "chunks" / rec["file"]).exists()
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 4


def test_resume_after_a_record_is_dropped_from_the_manifest(study, tmp_path, metric_names, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(study, out)
    manifest = json.loads((out / "manifest.json").read_text())
    dropped = manifest["chunks"].pop(2)
    (out / "manifest.json").write_text(json.dumps(manifest))
    count_runs.clear()
    again = sweep_dir(study, out)
    assert computed_indices(count_runs, engine.Grid.build(TINY, TINY_AXES)) == dropped["configs"]
    assert_metrics_close(again, full, metric_names, atol=0)
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 4


def test_damaged_chunk_is_detected_and_recomputed(study, tmp_path, metric_names, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(study, out)
    rec = _first_record(out)
    path = out / "chunks" / rec["file"]
    data = bytearray(path.read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 16):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    count_runs.clear()
    log = Log()
    again = sweep_dir(study, out, log=log)
    assert "checksum" in log.text() and rec["file"] in log.text()
    assert computed_indices(count_runs, engine.Grid.build(TINY, TINY_AXES)) == rec["configs"]
    assert_metrics_close(again, full, metric_names, atol=0)


def test_interrupted_sweep_resumes_without_losing_finished_chunks(study, tmp_path, tiny_ref4, metric_names, monkeypatch):
    out = tmp_path / "run"
    original = engine.run_chunk
    done = []

    def flaky(study_, configs, chunk_size):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(list(configs))
        return original(study_, configs, chunk_size)

    monkeypatch.setattr(engine, "run_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        sweep_dir(study, out)
    assert not (out / ".lock").exists()
    assert not (out / "results.nc").exists()
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 2
    monkeypatch.setattr(engine, "run_chunk", original)
    calls = []

    def counting(study_, configs, chunk_size):
        calls.append(list(configs))
        return original(study_, configs, chunk_size)

    monkeypatch.setattr(engine, "run_chunk", counting)
    ds = sweep_dir(study, out)
    assert sum(len(c) for c in calls) == 12 - sum(len(c) for c in done)
    assert_metrics_close(ds, tiny_ref4, metric_names, atol=0)


def test_directory_of_a_different_sweep_is_refused_and_untouched(study, tmp_path):
    out = tmp_path / "run"
    sweep_dir(study, out)
    before = snapshot(out)
    other_axes = {**TINY_AXES, "weight_decay": (0.0, 2.0)}
    with pytest.raises(RoteError, match="different sweep"):
        engine.sweep(study, TINY, other_axes, out, chunk_size=4, progress=False, log=quiet)
    with pytest.raises(RoteError, match="different sweep"):  # a different base parameter is another sweep too
        engine.sweep(study, grokking.GrokkingParams(p=11, N=16, steps=20, log_every=10, lr=0.02), TINY_AXES, out, progress=False, log=quiet)
    assert snapshot(out) == before


def test_results_written_before_a_field_existed_resume_only_if_it_is_at_its_default(study, tmp_path, monkeypatch):
    """A study that gains a parameter keeps its finished results: a saved fingerprint lacking the
    field reads as the field's default (engine.with_new_fields); any other difference is refused."""
    out = tmp_path / "run"
    sweep_dir(study, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["grid"]["base"].pop("batch_size")  # as if written before batch_size existed
    (out / "manifest.json").write_text(json.dumps(manifest))
    calls = []
    monkeypatch.setattr(engine, "run_chunk", lambda *a, **k: calls.append(a) or pytest.fail("recomputed a finished chunk"))
    engine.sweep(study, TINY, TINY_AXES, out, chunk_size=4, progress=False, log=quiet)
    assert calls == []
    fp = engine.Grid.build(TINY, TINY_AXES).fingerprint(study.name)
    old = json.loads(json.dumps(fp))
    old["base"].pop("batch_size")
    assert engine.with_new_fields(old, grokking.GrokkingParams) == json.loads(json.dumps(fp))
    changed = json.loads(json.dumps(old))
    changed["base"]["lr"] = 0.5  # an existing field with another value is another sweep
    assert engine.with_new_fields(changed, grokking.GrokkingParams) != json.loads(json.dumps(fp))
    nondefault = engine.Grid.build(grokking.GrokkingParams(p=11, N=16, steps=20, log_every=10, batch_size=8), TINY_AXES).fingerprint(study.name)
    assert engine.with_new_fields(old, grokking.GrokkingParams) != json.loads(json.dumps(nondefault))  # the new field set away from its default


def test_other_package_version_and_corrupted_manifest_are_refused(study, tmp_path):
    out = tmp_path / "run"
    sweep_dir(study, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["package_version"] = "0.0.0-other"
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(out)
    with pytest.raises(RoteError, match="0.0.0-other"):
        sweep_dir(study, out)
    assert snapshot(out) == before
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(RoteError, match="corrupted manifest"):
        sweep_dir(study, out)


def test_lock_held_by_a_live_process_is_refused(study, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    lock = out / ".lock"
    for owner in (f"{platform.node()}:{os.getpid()}", "some-other-host.example:1"):
        lock.write_text(owner)
        with pytest.raises(RoteError, match="in use"):
            sweep_dir(study, out)
        assert lock.read_text() == owner  # someone else's lock is left alone
    assert not (out / "results.nc").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(study, tmp_path, tiny_ref4, metric_names):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(f"{platform.node()}:{proc.pid}")
    ds = sweep_dir(study, out)
    assert not (out / ".lock").exists()
    assert_metrics_close(ds, tiny_ref4, metric_names, atol=0)


def test_unwritable_directory_under_a_regular_file(study, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    with pytest.raises(RoteError, match="cannot write results directory"):
        sweep_dir(study, blocker / "sub")
    assert blocker.read_text() == "a file, not a directory"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_by_permissions(study, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(RoteError, match="cannot write"):
            sweep_dir(study, parent / "run")
    finally:
        parent.chmod(0o700)


# --------------------------------------------------------------------------------------------------
# provenance, divergence, netCDF
# --------------------------------------------------------------------------------------------------


def test_provenance_attributes(tiny_ref):
    attrs = tiny_ref.attrs
    for key in ("package_version", "git_revision", "jax_version", "device", "wall_time_s", "config", "study", "n_configs"):
        assert key in attrs, key
    assert attrs["jax_version"] == jax.__version__
    assert attrs["package_version"] == engine.package_version()
    assert attrs["study"] == "grokking" and int(attrs["n_configs"]) == 12
    assert "cpu" in attrs["device"].lower() or jax.default_backend() != "cpu"
    assert float(attrs["wall_time_s"]) > 0
    assert json.loads(attrs["config"]) == engine.Grid.build(TINY, TINY_AXES).fingerprint("grokking")
    assert isinstance(attrs["git_revision"], str) and attrs["git_revision"]


def test_diverged_config_is_flagged_and_the_rest_is_fine(study, tiny_ref, metric_names):
    log = Log()
    ds = engine.sweep(study, TINY, {"lr": (0.01, 1e6), "weight_decay": (0.0, 1.0, 2.0)}, None, chunk_size=6, progress=False, log=log)
    np.testing.assert_array_equal(ds["diverged"].values, [[False] * 3, [True] * 3])
    assert (ds["diverged_step"].sel(lr=0.01).values == -1).all()
    bad = ds["diverged_step"].sel(lr=1e6).values
    assert ((bad > 0) & (bad <= TINY.steps)).all()
    # the step it names is the first one where the loss is non-finite
    for w in (0.0, 1.0, 2.0):
        loss = ds["train_loss"].sel(lr=1e6, weight_decay=w).values
        first = ds["step"].values[np.argmax(~np.isfinite(loss))]
        assert first == int(ds["diverged_step"].sel(lr=1e6, weight_decay=w))
    assert "3 config(s) diverged" in log.text()
    # the healthy configs sharing the chunk are untouched
    healthy = ds.sel(lr=0.01, weight_decay=[0.0, 1.0])
    ref = tiny_ref.sel(alpha=0.5, xi=0.0, weight_decay=[0.0, 1.0])
    assert_metrics_close(healthy, ref, metric_names, atol=1e-6)
    assert (ds["phase"].sel(lr=1e6).values == -1).all()


def test_netcdf_round_trip(tiny_ref, tmp_path, metric_names):
    path = tmp_path / "results.nc"
    engine.save_dataset(tiny_ref, path)
    back = engine.load_dataset(path)
    xr.testing.assert_equal(back, tiny_ref)
    assert back["diverged"].dtype == bool
    assert set(back.attrs) == set(tiny_ref.attrs)
    assert back.attrs["config"] == tiny_ref.attrs["config"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_corrupted_or_missing_results_file(tiny_ref, tmp_path):
    path = tmp_path / "results.nc"
    engine.save_dataset(tiny_ref, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(RoteError, match="cannot read"):
        engine.load_dataset(path)
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(RoteError):
        engine.load_dataset(path)
    with pytest.raises(RoteError, match="no results"):
        engine.load_dataset(tmp_path / "absent.nc")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(RoteError, match="cannot write"):
        engine.save_dataset(tiny_ref, blocker / "results.nc")


# --------------------------------------------------------------------------------------------------
# sharding over two (forced) host devices, in a subprocess
# --------------------------------------------------------------------------------------------------

_SHARDED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import jax
    from rote.sims import engine
    from rote.sims.studies import grokking
    base = grokking.GrokkingParams(p=11, N=16, steps=20, log_every=10)
    axes = {"alpha": (0.5, 0.7), "xi": (0.0, 0.3, 0.5), "weight_decay": (0.0, 1.0)}
    ds = engine.sweep(grokking.STUDY, base, axes, None, chunk_size=4, progress=False, log=lambda m: None)
    engine.save_dataset(ds, Path(sys.argv[1]))
    print("DEVICES", jax.local_device_count(), jax.default_backend())
    """
)


def test_sharded_over_two_devices_matches_single_device(tmp_path, tiny_ref, metric_names):
    if jax.local_device_count() != 1 or jax.default_backend() != "cpu":
        pytest.skip("the in-process reference must be a single CPU device")
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    env["JAX_PLATFORMS"] = "cpu"
    out = tmp_path / "sharded.nc"
    proc = subprocess.run([sys.executable, "-c", _SHARDED, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DEVICES 2 cpu" in proc.stdout
    sharded = engine.load_dataset(out)
    assert sharded.attrs["device"].startswith("2x")
    assert_metrics_close(sharded, tiny_ref, metric_names, atol=1e-6)
