"""The `rote` command line: one-line errors with exit 2, list, sweep -> figures -> verify, exit 1 on a
failed claim. Mostly in-process (sims.cli.main), plus real `rote` subprocesses."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from engine.support import with_claims

from rote.sims import cli, engine, results
from rote.sims.study import Claim

SMOKE = ["--scale", "smoke", "--no-progress"]


def assert_one_line_error(rc, captured, *fragments):
    assert rc == 2, (rc, captured.err)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("rote: error:"), lines[0]
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory):
    """`rote sweep grokking --scale smoke --out DIR` once per session (8 configs, seconds)."""
    out = tmp_path_factory.mktemp("cli") / "smoke"
    assert cli.main(["sweep", "grokking", *SMOKE, "--out", str(out)]) == 0
    return out


def rote_exe():
    exe = Path(sys.executable).with_name("rote")
    return str(exe) if exe.exists() else shutil.which("rote")


# --------------------------------------------------------------------------------------------------
# bad input: exit 2, one line, no traceback
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["sweep", "nosuchstudy", *SMOKE], ("unknown study", "nosuchstudy")),
        (["sweep", "grokking", "--scale", "huge", "--no-progress"], ("unknown scale", "huge")),
        (["verify", "grokking", "--scale", "huge", "--no-progress"], ("unknown scale",)),
        (["figures", "nosuchstudy", "--scale", "smoke"], ("unknown study",)),
        (["sweep", "grokking", *SMOKE, "--set", "xi=1.5"], ("xi",)),
        (["sweep", "grokking", *SMOKE, "--set", "alpha=1.0"], ("alpha",)),
        (["sweep", "grokking", *SMOKE, "--set", "nonsense=1"], ("nonsense",)),
        (["sweep", "grokking", *SMOKE, "--set", "xi"], ("--set",)),
        (["sweep", "grokking", *SMOKE, "--set", "lr=fast"], ("lr",)),
        (["sweep", "grokking", *SMOKE, "--set", "p=2.5"], ("p",)),
        (["sweep", "grokking", *SMOKE, "--set", "steps=7"], ("log_every",)),
        (["sweep", "grokking", *SMOKE, "--set", "weight_decay=-1"], ("weight_decay",)),
        (["sweep", "grokking", *SMOKE, "--set", "xi=0.1,0.1"], ("repeats",)),
        (["sweep", "grokking", *SMOKE, "--set", "lr=nan"], ("lr",)),
        (["sweep", "grokking", *SMOKE, "--chunk-size", "0"], ("chunk-size",)),
        # values parsing or float32 would silently turn into 0 or a subnormal (never clamped)
        (["sweep", "grokking", *SMOKE, "--set", "xi=1e-400"], ("xi", "1e-400", "become 0")),
        (["sweep", "grokking", *SMOKE, "--set", "weight_decay=0.0,-1e-400"], ("weight_decay", "-1e-400")),
        (["sweep", "grokking", *SMOKE, "--set", "lr=1e-40"], ("lr", "1e-40")),
        (["sweep", "grokking", *SMOKE, "--set", "xi=0.1,1e-50"], ("xi", "1e-50")),
        (["sweep", "grokking", *SMOKE, "--set", "xi=4.9e-324"], ("xi",)),
        # an empty panel list never means "every panel"
        (["sweep", "grokking", *SMOKE, "--panel", ""], ("--panel", "empty")),
        (["sweep", "grokking", "--scale", "quick", "--no-progress", "--panel", "wd,"], ("--panel", "empty")),
        (["sweep", "grokking", "--scale", "quick", "--no-progress", "--panel", " "], ("--panel", "empty")),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragments, capsys, tmp_path):
    if argv[0] == "sweep":
        argv = [*argv, "--out", str(tmp_path / "out")]
    rc = cli.main(argv)
    assert_one_line_error(rc, capsys.readouterr(), *fragments)
    assert not (tmp_path / "out" / "results.nc").exists()


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["sweep", "grokking", *SMOKE, "--out", ""], ("--out", "empty")),
        (["sweep", "grokking", *SMOKE, "--out", "  "], ("--out", "empty")),
        (["figures", "grokking", "--scale", "smoke", "--results", ""], ("--results", "empty")),
        (["figures", "grokking", "--scale", "smoke", "--out", ""], ("--out", "empty")),
        (["verify", "grokking", *SMOKE, "--results", ""], ("--results", "empty")),
        (["sweep", "--from", "", "--out", "x"], ("--from", "empty")),
        (["sweep", "grokking", "--scale", "", "--no-progress"], ("--scale", "empty")),
        (["reproduce", "--scale", ""], ("--scale", "empty")),
    ],
)
def test_empty_paths_are_one_line_errors_never_the_default(argv, fragments, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may appear in the working directory (results/... is the default)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert_one_line_error(2, capsys.readouterr(), *fragments)
    assert list(tmp_path.iterdir()) == []


def test_empty_results_root_in_the_environment_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROTE_RESULTS", "")
    rc = cli.main(["sweep", "grokking", *SMOKE])
    assert_one_line_error(rc, capsys.readouterr(), "ROTE_RESULTS", "empty")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_of_another_study_is_refused_and_untouched(capsys, smoke_dir, tmp_path):
    """An mha-capacity sweep into a directory holding a grokking sweep (and the reverse, a grokking sweep
    into one whose panel folders hold mha-capacity sweeps) would leave a mixed directory."""
    out = tmp_path / "grokking_here"
    shutil.copytree(smoke_dir, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc = cli.main(["sweep", "mha-capacity", *SMOKE, "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr(), "holds a grokking sweep", "mix two studies")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    other = tmp_path / "mha_here"
    (other / "heads").mkdir(parents=True)
    (other / "heads" / "manifest.json").write_text('{"format": 1, "grid": {"study": "mha-capacity"}, "chunks": []}')
    rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(other)])
    assert_one_line_error(rc, capsys.readouterr(), "holds a mha-capacity sweep")
    assert sorted(p.name for p in other.iterdir()) == ["heads"]


def test_unwritable_out_directory(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(blocker / "sub")])
    assert_one_line_error(rc, capsys.readouterr(), "cannot write")


def test_results_dir_of_a_different_grid(capsys, smoke_dir, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(smoke_dir, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(out), "--set", "weight_decay=0.0,1.0"])
    assert_one_line_error(rc, capsys.readouterr(), "different sweep")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_damaged_results_file(capsys, smoke_dir, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(smoke_dir, out)
    data = (out / "results.nc").read_bytes()
    (out / "results.nc").write_bytes(data[:200])
    rc = cli.main(["verify", "grokking", *SMOKE, "--results", str(out)])
    assert_one_line_error(rc, capsys.readouterr(), "results.nc")


def test_figures_and_verify_without_results(capsys, tmp_path):
    rc = cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(tmp_path / "none")])
    assert_one_line_error(rc, capsys.readouterr(), "no results")


def test_argparse_errors_are_one_line_exit_2(capsys):
    for argv in (["sweep"], ["frobnicate"], ["sweep", "grokking", "--chunk-size", "many"], []):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rote: error:"), captured.err


# --------------------------------------------------------------------------------------------------
# list, sweep, figures, verify
# --------------------------------------------------------------------------------------------------


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    from rote.sims.studies import names

    assert [line for line in out.splitlines() if not line.startswith(" ")] == names() and "grokking" in names()
    for scale in ("smoke", "quick", "paper"):
        assert f"  {scale}" in out


def test_sweep_writes_a_resumable_run_dir(smoke_dir, capsys):
    assert (smoke_dir / "results.nc").exists() and (smoke_dir / "manifest.json").exists()
    ds = engine.load_dataset(smoke_dir / "results.nc")
    assert dict(ds.sizes) == {"alpha": 2, "xi": 2, "weight_decay": 2, "step": 11, "neuron": 64}
    assert ds.attrs["scale"] == "smoke" and int(ds.attrs["n_configs"]) == 8
    # re-running resumes everything and computes nothing
    assert cli.main(["sweep", "grokking", *SMOKE, "--out", str(smoke_dir)]) == 0
    captured = capsys.readouterr()
    assert "8/8" in captured.err
    assert "8 configs" in captured.out


def test_sweep_set_overrides_base_and_axes(tmp_path):
    out = tmp_path / "o"
    argv = ["sweep", "grokking", *SMOKE, "--out", str(out), "--set", "lr=0.02", "--set", "xi=0.0", "--set", "alpha=0.5"]
    assert cli.main(argv) == 0
    ds = engine.load_dataset(out / "results.nc")
    assert list(ds["xi"].values) == [0.0] and list(ds["alpha"].values) == [0.5]
    assert '"lr": 0.02' in ds.attrs["config"]


def test_figures_from_saved_results(smoke_dir, tmp_path, capsys):
    try:
        figures = importlib.import_module("rote.figures.grokking")
    except ImportError:
        figures = None
    if figures is None or not hasattr(figures, "make_all"):
        pytest.skip("figures/grokking.py has no make_all yet")
    fig_dir = tmp_path / "figs"
    assert cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(smoke_dir), "--out", str(fig_dir)]) == 0
    out = capsys.readouterr().out
    written = [p for p in fig_dir.iterdir() if p.is_file()]
    assert written and all(p.stat().st_size > 0 for p in written)
    assert all(f"rote: wrote {p}" in out for p in written)


def test_verify_passes_on_the_smoke_sweep(smoke_dir, capsys):
    rc = cli.main(["verify", "grokking", *SMOKE, "--results", str(smoke_dir)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "2 passed, 0 failed" in out
    assert "PASS" in out and "FAIL" not in out


def test_verify_never_sweeps_a_claim_without_results_is_not_measured(tmp_path, capsys, monkeypatch):
    """More in test_cli_verify.py (partial results, the printed command run, exit codes)."""
    reads = Claim("reads the grid", "-", "-", lambda ds: (str(int(ds["phase"].size)), True))
    with_claims(monkeypatch, "grokking", lambda scale: [reads])
    out = tmp_path / "fresh"
    rc = cli.main(["verify", "grokking", *SMOKE, "--results", str(out)])
    captured = capsys.readouterr()
    assert rc == cli.EXIT_NOT_MEASURED, captured.out
    assert not out.exists()
    assert "NOT MEASURED" in captured.out and "0 passed, 0 failed, 1 not measured" in captured.out
    assert f"rote sweep grokking --scale smoke --out {out}" in captured.out


def test_verify_exit_1_when_a_claim_fails(smoke_dir, monkeypatch, capsys):
    failing = Claim("always wrong", "x = 1", "exact", lambda ds: ("x = 2", False))
    passing = Claim("always right", "y = 1", "exact", lambda ds: ("y = 1", True))
    with_claims(monkeypatch, "grokking", lambda scale: [passing, failing])
    rc = cli.main(["verify", "grokking", *SMOKE, "--results", str(smoke_dir)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 passed, 1 failed" in out and "FAIL" in out and "always wrong" in out


def test_format_verdicts_wraps_long_cells():
    from rote.sims.study import Verdict

    text = cli.format_verdicts([Verdict("a claim", "p " * 60, "t", "m", True), Verdict("b", "p", "t", "m", False)])
    assert text.splitlines()[-1] == "1 passed, 1 failed"
    widths = inspect.signature(cli.format_verdicts).parameters["widths"].default
    assert max(len(line) for line in text.splitlines()) <= sum(widths) + 2 * (len(widths) - 1)


# --------------------------------------------------------------------------------------------------
# real subprocesses
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rote_cmd():
    exe = rote_exe()
    if exe is None:
        pytest.skip("the `rote` console script is not installed")
    return exe


def run_rote(rote_cmd, *args, cwd=None):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([rote_cmd, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_subprocess_list(rote_cmd):
    proc = run_rote(rote_cmd, "list")
    assert proc.returncode == 0, proc.stderr
    assert "grokking" in proc.stdout and "smoke" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "nosuchstudy"),
        ("sweep", "grokking", "--scale", "smoke", "--no-progress", "--set", "xi=1.5"),
        ("sweep", "grokking", "--bogus-flag"),
    ],
)
def test_subprocess_bad_input(rote_cmd, args, tmp_path):
    proc = run_rote(rote_cmd, *args, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rote: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_subprocess_sweep_and_verify_smoke(rote_cmd, tmp_path):
    out = tmp_path / "smoke"
    proc = run_rote(rote_cmd, "sweep", "grokking", "--scale", "smoke", "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_rote(rote_cmd, "verify", "grokking", "--scale", "smoke", "--no-progress", "--results", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "passed" in proc.stdout and "0 failed" in proc.stdout


def test_huge_integer_parameter_is_a_one_line_error(capsys, tmp_path):
    try:
        rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(tmp_path / "o"), "--set", "p=1" + "0" * 160])
    except OverflowError:
        pytest.fail("OverflowError escaped cli.main")
    assert_one_line_error(rc, capsys.readouterr())


def test_results_of_another_configuration_are_flagged(capsys, smoke_dir, tmp_path):
    """Figures/verify on results the current scale would not make (stale or custom) print one warning
    naming what differs; the scale's own results print none."""
    assert cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(smoke_dir), "--out", str(tmp_path / "f1")]) == 0
    assert "warning" not in capsys.readouterr().err
    other = tmp_path / "other"
    assert cli.main(["sweep", "grokking", *SMOKE, "--out", str(other), "--set", "seed=3"]) == 0
    capsys.readouterr()
    assert cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(other), "--out", str(tmp_path / "f2")]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "different configuration" in err and "seed" in err


def test_config_mismatch_descriptions():
    current = {"study": "s", "params_type": "P", "base": {"a": 1, "b": 2.0}, "axes": {"x": [1, 2]}}
    import json

    assert results.config_mismatch(json.dumps(current), current) == ""
    assert "base b" in results.config_mismatch(json.dumps({**current, "base": {"a": 1, "b": 3.0}}), current)
    assert "axes x" in results.config_mismatch(json.dumps({**current, "axes": {"x": [1]}}), current)
    assert results.config_mismatch(None, current) and results.config_mismatch("{bad", current)


def test_matmul_precision_is_recorded_and_part_of_the_sweep_identity(capsys, tmp_path):
    out = tmp_path / "bf16"
    assert cli.main(["sweep", "grokking", *SMOKE, "--out", str(out), "--matmul-precision", "bfloat16"]) == 0
    ds = engine.load_dataset(out / "results.nc")
    assert ds.attrs["matmul_precision"] == "bfloat16"
    capsys.readouterr()
    # the same directory refuses a resume at another precision (its numbers would mix two precisions)
    rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr(), "different sweep")
    assert cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(out), "--out", str(tmp_path / "f")]) == 0
    assert "matmul precision bfloat16" in capsys.readouterr().err


def test_unknown_matmul_precision_is_one_line(capsys, tmp_path):
    rc = cli.main(["sweep", "grokking", *SMOKE, "--out", str(tmp_path / "x"), "--matmul-precision", "fp8"])
    assert_one_line_error(rc, capsys.readouterr(), "matmul precision", "fp8")
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_sweep_panel_runs_only_the_named_panels(tmp_path, capsys):
    out = tmp_path / "quick"
    tiny = ["--set", "p=11", "--set", "N=8", "--set", "steps=20", "--set", "log_every=10"]
    assert cli.main(["sweep", "grokking", "--scale", "quick", "--no-progress", "--out", str(out), "--panel", "seeds", *tiny]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seeds"]
    assert (out / "seeds" / "results.nc").exists()


def test_sweep_unknown_panel_is_a_one_line_error(tmp_path, capsys):
    rc = cli.main(["sweep", "grokking", "--scale", "quick", "--no-progress", "--out", str(tmp_path / "o"), "--panel", "wd,nope"])
    assert_one_line_error(rc, capsys.readouterr(), "no panel nope", "transformer_oos")
    assert not (tmp_path / "o").exists()



# --------------------------------------------------------------------------------------------------
# the newcomer's path: python -m rote, --version, defaults in every help, progress, --from
# --------------------------------------------------------------------------------------------------


def test_version_flag(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"rote {version('rote')}"


def test_python_dash_m_rote_and_the_script_agree_on_the_version(rote_cmd, tmp_path):
    from importlib.metadata import version

    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    for argv in ([sys.executable, "-m", "rote", "--version"], [rote_cmd, "--version"]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        assert proc.returncode == 0 and proc.stdout.strip() == f"rote {version('rote')}", (argv, proc.stdout, proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "rote", "sweep", "nosuchstudy"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("rote: error: unknown study"), proc.stderr


@pytest.mark.parametrize("command", [[], ["list"], ["sweep"], ["figures"], ["verify"], ["reproduce"]], ids=lambda c: c[0] if c else "rote")
def test_every_help_shows_the_defaults(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    if command and command[0] != "list":
        assert "--scale" in text and "(default: quick)" in text, text
    if command and command[0] in ("sweep", "figures", "verify"):
        assert "(default: results/STUDY/SCALE)" in text, text
    if command == ["sweep"]:
        assert "--chunk-size" in text and "(default: from device memory)" in text


def test_the_sweep_bar_names_study_scale_and_panel_with_an_eta_before_the_first_chunk_ends(tmp_path, capsys, monkeypatch):
    original, seen = engine.run_chunk, []

    def first_chunk(study, configs, size):
        if not seen:
            seen.append(capsys.readouterr().err)  # what the bar shows while the first chunk runs
        return original(study, configs, size)

    monkeypatch.setattr(engine, "run_chunk", first_chunk)
    tiny = ["--set", "p=11", "--set", "N=8", "--set", "steps=20", "--set", "log_every=10"]
    assert cli.main(["sweep", "grokking", "--scale", "quick", "--out", str(tmp_path / "q"), "--panel", "seeds", *tiny]) == 0
    assert "grokking quick seeds: " in seen[0] and "0/" in seen[0], seen[0]
    assert re.search(r"ETA ~\d+:\d\d \(cost estimate\)", seen[0]), seen[0]


def test_verify_shows_progress_over_the_claims(smoke_dir, capsys, monkeypatch):
    seen = []

    def claim(name):
        return Claim(name, "-", "-", lambda ds: (seen.append(capsys.readouterr().err) or "ok", True))

    with_claims(monkeypatch, "grokking", lambda scale: [claim("first"), claim("second")])
    assert cli.main(["verify", "grokking", "--scale", "smoke", "--results", str(smoke_dir)]) == 0
    assert "grokking smoke verify: 0/2 claims" in seen[0] and "first" in seen[0], seen[0]
    assert "grokking smoke verify: 1/2 claims" in seen[1] and "second" in seen[1], seen[1]


def test_figures_are_announced_as_they_are_written(smoke_dir, tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    real, seen = Figure.savefig, []

    def recording(self, *a, **k):
        seen.append(capsys.readouterr().out)  # printed so far, before this figure is written
        return real(self, *a, **k)

    monkeypatch.setattr(Figure, "savefig", recording)
    assert cli.main(["figures", "grokking", "--scale", "smoke", "--results", str(smoke_dir), "--out", str(tmp_path / "f")]) == 0
    assert "loading results" in seen[0]
    assert "rote: wrote " in seen[1] and seen[1].count("rote: wrote ") == 1, seen[1]  # the first, before the second is made
    assert "figures in" in capsys.readouterr().out


def test_sweep_from_a_results_file_reruns_its_exact_configuration(smoke_dir, tmp_path, capsys):
    out = tmp_path / "again"
    assert cli.main(["sweep", "--from", str(smoke_dir / "results.nc"), "--out", str(out), "--no-progress"]) == 0
    old, new = engine.load_dataset(smoke_dir / "results.nc"), engine.load_dataset(out / "results.nc")
    for key in ("study", "scale", "config", "n_configs", "matmul_precision"):
        assert new.attrs[key] == old.attrs[key], key
    for name in old.data_vars:  # same machine, same configuration: the same numbers
        assert old[name].dims == new[name].dims
        assert np.array_equal(old[name].values, new[name].values, equal_nan=old[name].dtype.kind == "f"), name
    # a custom sweep (base and axes changed by --set) is re-run as it was, not as the scale is today
    custom = tmp_path / "custom"
    assert cli.main(["sweep", "grokking", *SMOKE, "--out", str(custom), "--set", "lr=0.02", "--set", "xi=0.0"]) == 0
    assert cli.main(["sweep", "grokking", "--from", str(custom / "results.nc"), "--out", str(tmp_path / "custom2"), "--no-progress"]) == 0
    assert engine.load_dataset(tmp_path / "custom2" / "results.nc").attrs["config"] == engine.load_dataset(custom / "results.nc").attrs["config"]
    capsys.readouterr()
    for argv, fragment in (
        (["sweep", "--from", str(smoke_dir / "results.nc")], "--out"),
        (["sweep", "--from", str(smoke_dir / "results.nc"), "--out", str(tmp_path / "x"), "--set", "xi=0.1"], "--set"),
        (["sweep", "--from", str(smoke_dir / "results.nc"), "--out", str(tmp_path / "x"), "--scale", "quick"], "--scale"),
        (["sweep", "mha-capacity", "--from", str(smoke_dir / "results.nc"), "--out", str(tmp_path / "x")], "grokking"),
        (["sweep", "--from", str(tmp_path / "none.nc"), "--out", str(tmp_path / "x")], "no results"),
    ):
        rc = cli.main(argv)
        assert_one_line_error(rc, capsys.readouterr(), fragment)
