"""What made a result: the package version and git revision, and the netCDF attributes of a merged sweep
(the full configuration, versions, device, precision and wall time).

The git revision is the package's own: it is recorded only when the package runs from its source tree
and that tree is a git checkout of it (an editable install or a clone on ``PYTHONPATH``). An installed
copy (a wheel in site-packages) records its version alone, even when site-packages lies inside some
other git repository, whose HEAD says nothing about this package.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .grid import Grid
    from .study import Study


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("rote")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def git_revision() -> str | None:
    """HEAD of the git checkout this package runs from (``+dirty`` with uncommitted changes to tracked
    files), or None when it does not run from one: the repository around this file must have this very
    file, tracked, at ``sims/provenance.py`` of its top level."""
    here = Path(__file__).resolve()

    def git(*args):
        return subprocess.run(["git", *args], cwd=here.parent, capture_output=True, text=True, timeout=5)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0:
            return None
        own = Path(top.stdout.strip()) / "sims" / "provenance.py"
        if not (own.exists() and own.samefile(here)) or git("ls-files", "--error-unmatch", str(here)).returncode != 0:
            return None  # an installed copy inside some other repository
        rev = git("rev-parse", "HEAD")
        if rev.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(study: Study, scale: str | None, grid: Grid, wall_s: float, chunk_wall_s: float) -> dict[str, str | float | int]:
    """netCDF attributes: the full configuration, versions and where and how long it ran (``git_revision``
    only when the package runs from its own git checkout)."""
    import jax

    from .devices import device_kind

    attrs = {
        "study": study.name,
        "scale": scale or "custom",
        "config": json.dumps(grid.fingerprint(study.name)),
        "n_configs": len(grid),
        "package_version": package_version(),
        "jax_version": jax.__version__,
        "python_version": sys.version.split()[0],
        "device": device_kind(),
        "backend": jax.default_backend(),
        "matmul_precision": grid.matmul_precision or "default",
        "wall_time_s": round(wall_s, 3),
        "compute_time_s": round(chunk_wall_s, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    revision = git_revision()
    if revision is not None:
        attrs["git_revision"] = revision
    return attrs
