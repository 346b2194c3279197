"""The wheel built from a clean checkout holds every module and runs `rote` (and `python -m rote`) without
the source tree; an installed copy records its version but no git revision, even inside another git
repository; the license text matches the metadata."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tracked_modules() -> set[str]:
    """The wheel paths of every .py file under theory/, sims/, figures/ (rote/<top>/...) and rote/ (the top
    package) that git tracks or would track (the working tree's new files are under test too)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "theory", "sims", "figures", "rote"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return {p if p.startswith("rote/") else f"rote/{p}" for p in out.split() if p.endswith(".py") and (ROOT / p).exists()}


def source_path(wheel_path: str) -> str:
    """rote/sims/x.py -> sims/x.py (setup.py's mapping); rote/__init__.py stays (the folder rote/)."""
    top = wheel_path.split("/")[1]
    return wheel_path.removeprefix("rote/") if top in ("theory", "sims", "figures") else wheel_path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    work = tmp_path_factory.mktemp("wheel")
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # the working tree's uncommitted changes are what is under test: copy them over the clone
    for rel in {source_path(p) for p in tracked_modules()} | {"setup.py", "pyproject.toml", "LICENSE"}:
        src = ROOT / rel
        if src.exists():
            (clone / src.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            (clone / src.relative_to(ROOT)).write_bytes(src.read_bytes())
    dist = work / "dist"
    # build with the environment's setuptools when it can (no download; an old setuptools without the
    # `wheel` package cannot), else in isolation
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(clone)]
    if subprocess.run([*build, "--no-build-isolation"], capture_output=True).returncode != 0:
        subprocess.run(build, check=True, capture_output=True)
    return next(dist.glob("rote-*.whl"))


def test_wheel_holds_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(tracked_modules() - names)
    assert not missing, missing


def test_installed_wheel_runs_verify_at_smoke_scale(wheel, tmp_path):
    """Not editable: the wheel alone, outside the source tree, sweeps and verifies a study."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    code = "import sys; from rote.sims.cli import main; sys.exit(main(sys.argv[1:]))"
    sweep = subprocess.run([sys.executable, "-c", code, "sweep", "mha-capacity", "--scale", "smoke", "--no-progress",
                            "--out", str(tmp_path / "res")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    run = subprocess.run([sys.executable, "-c", code, "verify", "mha-capacity", "--scale", "smoke", "--no-progress",
                          "--results", str(tmp_path / "res")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert "passed" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.returncode in (0, 1), run.stderr[-2000:]  # 1: a claim failed at smoke scale, the wiring worked
    import_check = subprocess.run([sys.executable, "-c", "import rote.sims, sys; print(rote.sims.__file__)"], cwd=tmp_path, env=env,
                                  capture_output=True, text=True)
    assert str(target) in import_check.stdout


def install(wheel: Path, target: Path) -> dict:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    return {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg", "JAX_PLATFORMS": "cpu"}


def test_python_dash_m_rote_runs_from_the_installed_wheel(wheel, tmp_path):
    from importlib.metadata import version

    env = install(wheel, tmp_path / "site")
    run = subprocess.run([sys.executable, "-m", "rote", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == f"rote {version('rote')}", run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "rote", "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "grokking" in run.stdout, run.stderr[-2000:]
    where = subprocess.run([sys.executable, "-c", "import rote; print(rote.__file__, rote.__version__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert where.stdout.split() == [str(tmp_path / "site" / "rote" / "__init__.py"), version("rote")], where.stdout + where.stderr


def test_an_installed_copy_inside_another_git_repository_records_no_git_revision(wheel, tmp_path):
    """site-packages inside some other project's git checkout: that project's HEAD is not the package's
    revision; the results record the version alone. The source tree (an editable install) records it."""
    from importlib.metadata import version

    repo = tmp_path / "other_project"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    (repo / "README").write_text("another project\n")
    git("add", "README")
    git("commit", "-q", "-m", "init")
    env = install(wheel, repo / "venv" / "site-packages")
    code = ("from rote.sims.provenance import git_revision, package_version; "
            "print(git_revision(), package_version())")
    run = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["None", version("rote")], run.stdout
    from rote.sims.provenance import git_revision  # this checkout, editable: its own HEAD

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert git_revision().removesuffix("+dirty") == head


def test_license_file_matches_the_metadata(wheel):
    import tomllib

    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "MIT"}
    licenses = [n for n in zipfile.ZipFile(wheel).namelist() if n.rsplit("/", 1)[-1] == "LICENSE" and ".dist-info/" in n]
    assert licenses and zipfile.ZipFile(wheel).read(licenses[0]).decode() == text
