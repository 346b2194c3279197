"""The sweep engine on its toy study: vmapped equals alone, determinism, grid layout, static groups,
padding, resume, damaged files, locking, provenance, divergence, netCDF, and sharding over two host
devices."""

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
from engine.support import Log, assert_metrics_close, quiet, snapshot
from engine.toy_study import METRICS, STUDY, TOY, TOY_AXES, ToyParams

from rote.sims import engine
from rote.sims.errors import ConfigError, RoteError

TESTS = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


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


def sweep_dir(out, **kw):
    kw.setdefault("chunk_size", 4)
    kw.setdefault("progress", False)
    kw.setdefault("log", quiet)
    return engine.sweep(STUDY, TOY, TOY_AXES, out, **kw)


def cell_of(ds, cfg, axes=TOY_AXES):
    return ds.sel({a: getattr(cfg, a) for a in axes})


def toy_env(**extra) -> dict:
    """The environment of a subprocess that imports the toy study (tests/ on its path)."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": path, **extra}


# --------------------------------------------------------------------------------------------------
# vmapped == alone, determinism
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("i", [0, 5, 7, 11])
def test_vmapped_chunk_equals_config_run_alone(toy_ref, i):
    grid = engine.Grid.build(TOY, TOY_AXES)
    cfg = grid.configs[i]
    alone = engine.run_one(STUDY, cfg)
    cell = cell_of(toy_ref, cfg)
    assert_metrics_close(cell, alone, METRICS, atol=1e-6)
    # and not trivially: a neighbouring config is different
    other = cell_of(toy_ref, grid.configs[i ^ 1])
    assert not np.allclose(other["w"], alone["w"], atol=1e-6)


def test_same_seed_twice_is_bitwise_identical(toy_ref):
    again = engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=6, progress=False, log=quiet)
    for name in METRICS:
        np.testing.assert_array_equal(again[name].values, toy_ref[name].values, err_msg=name)


def test_different_seeds_differ_and_keys_do_not_depend_on_position():
    seeds = (0, 1, 2, 3, 4, 5)
    fwd = engine.sweep(STUDY, TOY, {"seed": seeds}, None, chunk_size=6, progress=False, log=quiet)
    w = fwd["w"].values
    for a in range(len(seeds)):
        for b in range(a + 1, len(seeds)):
            assert not np.allclose(w[a], w[b]), (a, b)
    assert len(set(np.round(fwd["loss"].isel(step=0).values, 7))) == len(seeds)
    # the key comes from the seed alone: the same seeds in reverse order give the same numbers
    rev = engine.sweep(STUDY, TOY, {"seed": seeds[::-1]}, None, chunk_size=6, progress=False, log=quiet)
    assert_metrics_close(fwd, rev.sel(seed=list(seeds)), METRICS, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# Grid and Dataset layout
# --------------------------------------------------------------------------------------------------


def test_grid_is_flattened_in_c_order():
    grid = engine.Grid.build(TOY, TOY_AXES)
    assert grid.shape == (2, 3, 2) and len(grid) == 12
    for i, cfg in enumerate(grid.configs):
        s, n, d = np.unravel_index(i, grid.shape)
        assert (cfg.samples, cfg.noise, cfg.decay) == (TOY_AXES["samples"][s], TOY_AXES["noise"][n], TOY_AXES["decay"][d])
        assert (cfg.width, cfg.steps, cfg.lr, cfg.seed) == (TOY.width, TOY.steps, TOY.lr, TOY.seed)
    # last axis fastest
    assert grid.configs[1].decay == 1.0 and grid.configs[1].noise == 0.0
    assert grid.configs[2].noise == 0.3 and grid.configs[6].samples == 2


def test_grid_converts_numpy_scalars_and_rejects_bad_axes():
    grid = engine.Grid.build(TOY, {"noise": np.array([0.0, 0.25])})
    assert all(type(c.noise) is float for c in grid.configs)
    with pytest.raises(RoteError, match="unknown grid axis"):
        engine.Grid.build(TOY, {"nonsense": (1, 2)})
    with pytest.raises(RoteError, match="no values"):
        engine.Grid.build(TOY, {"noise": ()})
    with pytest.raises(RoteError, match="repeats"):
        engine.Grid.build(TOY, {"noise": (0.1, 0.1)})
    with pytest.raises(ConfigError, match="noise"):
        engine.Grid.build(TOY, {"noise": (0.1, 1.5)})


def test_dataset_dims_and_coords(toy_ref):
    ds = toy_ref
    assert ds["loss"].dims == ("samples", "noise", "decay", "step")
    assert ds["w"].dims == ("samples", "noise", "decay", "unit")
    for axis, values in TOY_AXES.items():
        np.testing.assert_array_equal(ds[axis].values, values)
    np.testing.assert_array_equal(ds["step"].values, [0, 10, 20])
    np.testing.assert_array_equal(ds["unit"].values, np.arange(TOY.width))
    assert ds["diverged"].dims == ("samples", "noise", "decay")
    assert ds["final_loss"].dims == ("samples", "noise", "decay")  # the study's summarize ran
    assert ds["loss"].shape == (2, 3, 2, 3)
    # noise 0 makes loss_per_noise NaN by definition, which is not divergence
    assert bool(ds["loss_per_noise"].sel(noise=0.0).isnull().all())
    assert bool(ds["loss_per_noise"].sel(noise=0.3).notnull().all())
    assert not bool(ds["diverged"].any())
    assert (ds["diverged_step"].values == -1).all()


def test_static_groups(toy_ref):
    grid = engine.Grid.build(TOY, TOY_AXES)
    groups = grid.groups()
    assert sorted(groups.values()) == [list(range(6)), list(range(6, 12))]
    # a static axis that is not the slowest interleaves the groups; merge must still place each config
    axes = {"noise": TOY_AXES["noise"], "samples": TOY_AXES["samples"], "decay": TOY_AXES["decay"]}
    grid2 = engine.Grid.build(TOY, axes)
    assert sorted(grid2.groups().values()) == [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    ds = engine.sweep(STUDY, TOY, axes, None, chunk_size=6, progress=False, log=quiet)
    assert ds["loss"].dims == ("noise", "samples", "decay", "step")
    assert_metrics_close(ds.transpose("samples", "noise", "decay", ...), toy_ref, METRICS, atol=1e-6)
    # the two samples groups really differ (the comparison above is not between identical halves)
    assert not np.allclose(toy_ref["loss"].sel(samples=1), toy_ref["loss"].sel(samples=2))


def test_static_axis_with_different_metric_coords_is_aligned():
    """steps is static and changes the `step` coordinate: the union is used, NaN beyond a run's end."""
    ds = engine.sweep(STUDY, TOY, {"steps": (20, 40), "noise": (0.0, 0.3)}, None, progress=False, log=quiet)
    np.testing.assert_array_equal(ds["step"].values, [0, 10, 20, 30, 40])
    short, long_ = ds.sel(steps=20), ds.sel(steps=40)
    assert bool(short["loss"].sel(step=[30, 40]).isnull().all())
    assert bool(long_["loss"].notnull().all())
    # the first 20 steps of the 40-step run are the 20-step run (same seed, same trajectory)
    np.testing.assert_allclose(short["loss"].sel(step=[0, 10, 20]), long_["loss"].sel(step=[0, 10, 20]), atol=1e-6)


def test_alignment_padding_is_not_divergence():
    log = Log()
    ds = engine.sweep(STUDY, TOY, {"steps": (20, 40), "noise": (0.0, 0.3)}, None, progress=False, log=log)
    assert not bool(ds["diverged"].any())
    assert (ds["diverged_step"].values == -1).all()
    assert "diverged" not in log.text()


def test_single_axis_and_no_axis_sweeps(toy_ref):
    one = engine.sweep(STUDY, TOY, {"noise": TOY_AXES["noise"]}, None, chunk_size=4, progress=False, log=quiet)
    assert one["loss"].dims == ("noise", "step")
    assert_metrics_close(one, toy_ref.sel(samples=1, decay=0.0), METRICS, atol=1e-6)
    none = engine.sweep(STUDY, TOY, {}, None, progress=False, log=quiet)
    assert none["loss"].dims == ("step",)
    assert_metrics_close(none, toy_ref.sel(samples=1, noise=0.0, decay=0.0), METRICS, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# chunking and padding
# --------------------------------------------------------------------------------------------------


def test_padding_gives_the_same_numbers(toy_ref, toy_ref4, count_runs):
    assert_metrics_close(toy_ref4, toy_ref, METRICS, atol=1e-6)
    count_runs.clear()
    # a request larger than a group (64 > 6)
    big = engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=64, progress=False, log=quiet)
    assert_metrics_close(big, toy_ref, METRICS, atol=1e-6)
    assert sorted(len(c) for c in count_runs) == [6, 6]
    # a size that does not divide the group (5: 5 + 1 padded)
    count_runs.clear()
    odd = engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=5, progress=False, log=quiet)
    assert sorted(len(c) for c in count_runs) == [1, 1, 5, 5]
    assert_metrics_close(odd, toy_ref, METRICS, atol=1e-6)


def test_choose_chunk_size():
    n_dev = jax.device_count()
    assert engine.choose_chunk_size(STUDY, TOY, requested=5) % n_dev == 0
    assert engine.choose_chunk_size(STUDY, TOY, requested=3) == max(n_dev, -(-3 // n_dev) * n_dev)
    auto = engine.choose_chunk_size(STUDY, TOY)
    assert 1 <= auto <= 4096 and auto % n_dev == 0
    if jax.default_backend() == "cpu":
        assert auto == engine.CPU_CONFIGS_PER_DEVICE * n_dev  # the toy config is tiny: the CPU cap decides


def test_chunk_width_does_not_depend_on_the_grid(monkeypatch):
    """One width per static group on a machine: a 1-config grid is padded to it, a group one config
    larger than the width runs as a full and a padded chunk of the same width."""
    widths, original = [], engine.run_chunk
    monkeypatch.setattr(engine, "run_chunk", lambda study, configs, size: widths.append((len(configs), size)) or original(study, configs, size))
    width = engine.choose_chunk_size(STUDY, TOY)
    engine.sweep(STUDY, TOY, {"seed": (0,)}, None, progress=False, log=quiet)
    engine.sweep(STUDY, TOY, {"seed": tuple(range(width + 1))}, None, progress=False, log=quiet)
    assert widths == [(1, width), (width, width), (1, width)]


# --------------------------------------------------------------------------------------------------
# run directory: resume, damage, foreign sweeps, locks, permissions
# --------------------------------------------------------------------------------------------------


def test_run_dir_layout_and_rerun_computes_nothing(tmp_path, toy_ref4, count_runs):
    out = tmp_path / "run"
    ds = sweep_dir(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"] == engine.Grid.build(TOY, TOY_AXES).fingerprint("toy")
    assert len(manifest["chunks"]) == 4
    assert sorted(i for rec in manifest["chunks"] for i in rec["configs"]) == list(range(12))
    assert sorted(p.name for p in (out / "chunks").iterdir()) == sorted(rec["file"] for rec in manifest["chunks"])
    assert (out / "results.nc").exists() and not (out / ".lock").exists()
    assert_metrics_close(ds, toy_ref4, METRICS, atol=0)
    count_runs.clear()
    log = Log()
    again = sweep_dir(out, log=log)
    assert count_runs == []
    assert "12/12" in log.text()
    assert_metrics_close(again, ds, METRICS, atol=0)
    assert_metrics_close(engine.load_dataset(out / "results.nc"), ds, METRICS, atol=0)


def _first_record(out):
    return json.loads((out / "manifest.json").read_text())["chunks"][0]


def test_resume_after_a_chunk_file_is_deleted(tmp_path, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(out)
    rec = _first_record(out)
    (out / "chunks" / rec["file"]).unlink()
    count_runs.clear()
    log = Log()
    again = sweep_dir(out, log=log)
    assert computed_indices(count_runs, engine.Grid.build(TOY, TOY_AXES)) == rec["configs"]
    assert "missing" in log.text() and rec["file"] in log.text()
    assert_metrics_close(again, full, METRICS, atol=0)
    assert (out / "chunks" / rec["file"]).exists()
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 4


def test_resume_after_a_record_is_dropped_from_the_manifest(tmp_path, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(out)
    manifest = json.loads((out / "manifest.json").read_text())
    dropped = manifest["chunks"].pop(2)
    (out / "manifest.json").write_text(json.dumps(manifest))
    count_runs.clear()
    again = sweep_dir(out)
    assert computed_indices(count_runs, engine.Grid.build(TOY, TOY_AXES)) == dropped["configs"]
    assert_metrics_close(again, full, METRICS, atol=0)
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 4


def test_damaged_chunk_is_detected_and_recomputed(tmp_path, count_runs):
    out = tmp_path / "run"
    full = sweep_dir(out)
    rec = _first_record(out)
    path = out / "chunks" / rec["file"]
    data = bytearray(path.read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 16):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    count_runs.clear()
    log = Log()
    again = sweep_dir(out, log=log)
    assert "checksum" in log.text() and rec["file"] in log.text()
    assert computed_indices(count_runs, engine.Grid.build(TOY, TOY_AXES)) == rec["configs"]
    assert_metrics_close(again, full, METRICS, atol=0)


def test_interrupted_sweep_resumes_without_losing_finished_chunks(tmp_path, toy_ref4, monkeypatch):
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
        sweep_dir(out)
    assert not (out / ".lock").exists()
    assert not (out / "results.nc").exists()
    assert len(json.loads((out / "manifest.json").read_text())["chunks"]) == 2
    monkeypatch.setattr(engine, "run_chunk", original)
    calls = []

    def counting(study_, configs, chunk_size):
        calls.append(list(configs))
        return original(study_, configs, chunk_size)

    monkeypatch.setattr(engine, "run_chunk", counting)
    ds = sweep_dir(out)
    assert sum(len(c) for c in calls) == 12 - sum(len(c) for c in done)
    assert_metrics_close(ds, toy_ref4, METRICS, atol=0)


def test_directory_of_a_different_sweep_is_refused_and_untouched(tmp_path):
    out = tmp_path / "run"
    sweep_dir(out)
    before = snapshot(out)
    other_axes = {**TOY_AXES, "decay": (0.0, 2.0)}
    with pytest.raises(RoteError, match="different sweep"):
        engine.sweep(STUDY, TOY, other_axes, out, chunk_size=4, progress=False, log=quiet)
    with pytest.raises(RoteError, match="different sweep"):  # a different base parameter is another sweep too
        engine.sweep(STUDY, ToyParams(lr=0.02), TOY_AXES, out, progress=False, log=quiet)
    assert snapshot(out) == before


def test_results_written_before_a_field_existed_resume_only_if_it_is_at_its_default(tmp_path, monkeypatch):
    """A study that gains a parameter keeps its finished results: a saved fingerprint lacking the
    field reads as the field's default (engine.with_new_fields); any other difference is refused."""
    out = tmp_path / "run"
    sweep_dir(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["grid"]["base"].pop("width")  # as if written before width existed
    (out / "manifest.json").write_text(json.dumps(manifest))
    calls = []
    monkeypatch.setattr(engine, "run_chunk", lambda *a, **k: calls.append(a) or pytest.fail("recomputed a finished chunk"))
    engine.sweep(STUDY, TOY, TOY_AXES, out, chunk_size=4, progress=False, log=quiet)
    assert calls == []
    fp = engine.Grid.build(TOY, TOY_AXES).fingerprint(STUDY.name)
    old = json.loads(json.dumps(fp))
    old["base"].pop("width")
    assert engine.with_new_fields(old, ToyParams) == json.loads(json.dumps(fp))
    changed = json.loads(json.dumps(old))
    changed["base"]["lr"] = 0.5  # an existing field with another value is another sweep
    assert engine.with_new_fields(changed, ToyParams) != json.loads(json.dumps(fp))
    nondefault = engine.Grid.build(ToyParams(width=8), TOY_AXES).fingerprint(STUDY.name)
    assert engine.with_new_fields(old, ToyParams) != json.loads(json.dumps(nondefault))  # the new field set away from its default


def test_other_package_version_is_refused_and_a_corrupted_manifest_is_rebuilt(tmp_path, monkeypatch):
    out = tmp_path / "run"
    sweep_dir(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["package_version"] = "0.0.0-other"
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(out)
    with pytest.raises(RoteError, match="0.0.0-other"):
        sweep_dir(out)
    assert snapshot(out) == before
    manifest["package_version"] = engine.package_version()
    (out / "manifest.json").write_text("{not json")
    monkeypatch.setattr(engine, "run_chunk", lambda *a: pytest.fail("recomputed a finished chunk"))
    log = Log()
    sweep_dir(out, log=log)  # each chunk names its own sweep and checksum: the manifest is rebuilt from them
    assert "corrupted manifest" in log.text() and "rebuilt the manifest from 4 verified chunk(s)" in log.text()
    assert json.loads((out / "manifest.json").read_text())["chunks"] and list(out.glob("manifest.json.damaged-*"))


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.toy_study import TOY, TOY_AXES
    from rote.sims import engine
    run_dir = engine.RunDir(Path(sys.argv[1]), "toy", engine.Grid.build(TOY, TOY_AXES))
    run_dir.create()
    with run_dir.lock():
        print("locked", flush=True)
        time.sleep(300)
    """
)


def test_lock_held_by_a_live_process_is_refused_and_a_killed_holder_does_not_block(tmp_path, toy_ref4):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], env=toy_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()[-3000:]
        owner = f"{platform.node()}:{holder.pid}"
        assert (out / ".lock").read_text() == owner
        before = snapshot(out)
        with pytest.raises(RoteError, match="in use by another sweep") as exc:
            sweep_dir(out)
        assert owner in str(exc.value)
        assert snapshot(out) == before  # the holder's lock and directory are left alone
    finally:
        holder.kill()
        holder.wait()
    # SIGKILL: the kernel drops the flock; the file is left behind and simply locked again
    assert (out / ".lock").read_text() == owner
    ds = sweep_dir(out)
    assert not (out / ".lock").exists()
    assert_metrics_close(ds, toy_ref4, METRICS, atol=0)


def test_a_lock_file_nobody_holds_does_not_block(tmp_path):
    """What a dead sweep may leave in .lock (its owner, another host's, nothing: killed while creating it)
    is no lock: only a live holder's flock refuses."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    out = tmp_path / "run"
    out.mkdir()
    for owner in (f"{platform.node()}:{proc.pid}", "some-other-host.example:1", ""):
        (out / ".lock").write_text(owner)
        sweep_dir(out)
        assert not (out / ".lock").exists() and (out / "results.nc").exists()


def test_unwritable_directory_under_a_regular_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    with pytest.raises(RoteError, match="cannot write results directory"):
        sweep_dir(blocker / "sub")
    assert blocker.read_text() == "a file, not a directory"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_by_permissions(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(RoteError, match="cannot write"):
            sweep_dir(parent / "run")
    finally:
        parent.chmod(0o700)


# --------------------------------------------------------------------------------------------------
# provenance, divergence, netCDF
# --------------------------------------------------------------------------------------------------


def test_provenance_attributes(toy_ref):
    attrs = toy_ref.attrs
    for key in ("package_version", "git_revision", "jax_version", "device", "wall_time_s", "config", "study", "n_configs"):
        assert key in attrs, key
    assert attrs["jax_version"] == jax.__version__
    assert attrs["package_version"] == engine.package_version()
    assert attrs["study"] == "toy" and int(attrs["n_configs"]) == 12
    assert "cpu" in attrs["device"].lower() or jax.default_backend() != "cpu"
    assert float(attrs["wall_time_s"]) > 0
    assert json.loads(attrs["config"]) == engine.Grid.build(TOY, TOY_AXES).fingerprint("toy")
    assert isinstance(attrs["git_revision"], str) and attrs["git_revision"]


def test_diverged_config_is_flagged_and_the_rest_is_fine(toy_ref):
    log = Log()
    ds = engine.sweep(STUDY, TOY, {"lr": (0.1, 1e6), "decay": (0.0, 1.0, 2.0)}, None, chunk_size=6, progress=False, log=log)
    np.testing.assert_array_equal(ds["diverged"].values, [[False] * 3, [True] * 3])
    assert (ds["diverged_step"].sel(lr=0.1).values == -1).all()
    bad = ds["diverged_step"].sel(lr=1e6).values
    assert ((bad > 0) & (bad <= TOY.steps)).all()
    # the step it names is the first one where the loss is non-finite
    for d in (0.0, 1.0, 2.0):
        loss = ds["loss"].sel(lr=1e6, decay=d).values
        first = ds["step"].values[np.argmax(~np.isfinite(loss))]
        assert first == int(ds["diverged_step"].sel(lr=1e6, decay=d))
    assert "3 config(s) diverged" in log.text()
    # the healthy configs sharing the chunk are untouched
    healthy = ds.sel(lr=0.1, decay=[0.0, 1.0])
    ref = toy_ref.sel(samples=1, noise=0.0, decay=[0.0, 1.0])
    assert_metrics_close(healthy, ref, METRICS, atol=1e-6)
    assert bool(ds["final_loss"].sel(lr=1e6).isnull().all())  # summarized after the merge, flags included


def test_netcdf_round_trip(toy_ref, tmp_path):
    path = tmp_path / "results.nc"
    engine.save_dataset(toy_ref, path)
    back = engine.load_dataset(path)
    xr.testing.assert_equal(back, toy_ref)
    assert back["diverged"].dtype == bool
    assert set(back.attrs) == set(toy_ref.attrs)
    assert back.attrs["config"] == toy_ref.attrs["config"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_corrupted_or_missing_results_file(toy_ref, tmp_path):
    path = tmp_path / "results.nc"
    engine.save_dataset(toy_ref, path)
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
        engine.save_dataset(toy_ref, blocker / "results.nc")


# --------------------------------------------------------------------------------------------------
# sharding over two (forced) host devices, in a subprocess
# --------------------------------------------------------------------------------------------------

_SHARDED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import jax
    from engine.toy_study import STUDY, TOY, TOY_AXES
    from rote.sims import engine
    ds = engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=4, progress=False, log=lambda m: None)
    engine.save_dataset(ds, Path(sys.argv[1]))
    print("DEVICES", jax.local_device_count(), jax.default_backend())
    """
)


def test_sharded_over_two_devices_matches_single_device(tmp_path, toy_ref):
    if jax.local_device_count() != 1 or jax.default_backend() != "cpu":
        pytest.skip("the in-process reference must be a single CPU device")
    env = toy_env(XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip())
    out = tmp_path / "sharded.nc"
    proc = subprocess.run([sys.executable, "-c", _SHARDED, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DEVICES 2 cpu" in proc.stdout
    sharded = engine.load_dataset(out)
    assert sharded.attrs["device"].startswith("2x")
    assert_metrics_close(sharded, toy_ref, METRICS, atol=1e-6)
