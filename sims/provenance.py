"""What made a result: the package version and git revision, and the netCDF attributes of a merged sweep
(the full configuration, versions, device, precision and wall time)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jax

from .devices import device_kind

if TYPE_CHECKING:
    from .grid import Grid
    from .study import Study


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("rote")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(study: Study, scale: str | None, grid: Grid, wall_s: float, chunk_wall_s: float) -> dict[str, str | float | int]:
    """netCDF attributes: the full configuration, versions and where and how long it ran."""
    return {
        "study": study.name,
        "scale": scale or "custom",
        "config": json.dumps(grid.fingerprint(study.name)),
        "n_configs": len(grid),
        "package_version": package_version(),
        "git_revision": git_revision(),
        "jax_version": jax.__version__,
        "python_version": sys.version.split()[0],
        "device": device_kind(),
        "backend": jax.default_backend(),
        "matmul_precision": grid.matmul_precision or "default",
        "wall_time_s": round(wall_s, 3),
        "compute_time_s": round(chunk_wall_s, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
