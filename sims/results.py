"""A study's saved results for a scale: where they are, loading them, stale-configuration warnings and
the exclusion of diverged configs. Used by the CLI, the claims and the notebooks alike."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from . import engine
from .errors import RoteError
from .study import Evidence


def results_dir(study: str, scale: str, out: str | None = None) -> Path:
    """``out`` if given, else $ROTE_RESULTS (default ``results``) / STUDY / SCALE. An empty ``out`` or
    $ROTE_RESULTS is an error, never the default."""
    if out is not None:
        if not str(out).strip():
            raise RoteError("the results directory is empty; give a directory")
        return Path(out)
    return results_root() / study / scale


def results_root(root: str | None = None) -> Path:
    """The folder holding every STUDY/SCALE: ``root`` if given, else $ROTE_RESULTS (default ``results``);
    an empty one is an error, never the default."""
    if root is not None:
        if not str(root).strip():
            raise RoteError("the results directory is empty; give a directory")
        return Path(root)
    root = os.environ.get("ROTE_RESULTS", "results")
    if not root.strip():
        raise RoteError("ROTE_RESULTS is set but empty; unset it or give a directory")
    return Path(root)


def other_study_in(root: Path, study: str) -> str | None:
    """'grokking sweep (ROOT/wd)' if ``root`` or a folder just below it holds a sweep of a study other
    than ``study`` (read from its manifest), else None: a study's results never share a directory."""
    root = Path(root)
    if not root.is_dir():
        return None
    for manifest in [root / "manifest.json", *sorted(root.glob("*/manifest.json"))]:
        try:
            grid = json.loads(manifest.read_text()).get("grid")
        except (OSError, ValueError, AttributeError):
            continue
        other = grid.get("study") if isinstance(grid, dict) else None
        if isinstance(other, str) and other != study:
            return f"{other} sweep ({manifest.parent})"
    return None


def saved_configuration(path: Path) -> dict:
    """What a results file's sweep was made of: {study, scale, base (params), axes, matmul_precision},
    as ``rote sweep --from`` re-runs it."""
    from .studies import get

    ds = engine.load_dataset(path)
    try:
        saved = json.loads(ds.attrs["config"])
        study = get(ds.attrs["study"])
        config = engine.with_new_fields(saved, study.params_type)
        if config.get("params_type") != study.params_type.__name__:
            raise ValueError(f"parameter type {config.get('params_type')}, not {study.params_type.__name__}")
        base = study.params_type(**config["base"])  # a value out of today's bounds: a one-line ConfigError
        axes = {name: tuple(values) for name, values in config["axes"].items()}
    except RoteError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RoteError(f"{path} records no configuration this rote can re-run ({type(exc).__name__}: {exc})") from None
    return {"study": study.name, "scale": str(ds.attrs.get("scale", "custom")), "base": base, "axes": axes,
            "matmul_precision": config.get("matmul_precision")}


def panel_path(root: Path, panel: str) -> Path:
    """The directory of one panel ('' for a scale that is a single grid)."""
    return root / panel if panel else root


def has_results(study, scale_name: str, root: Path) -> bool:
    """Whether every panel of the scale has a results.nc under ``root``."""
    return not missing_panels(study, scale_name, root)


def missing_panels(study, scale_name: str, root: Path) -> list[str]:
    """The panels of the scale (in its order) without a results.nc under ``root`` ('' for a single grid)."""
    return [panel for panel in study.scale(scale_name).sweeps() if not (panel_path(root, panel) / "results.nc").exists()]


def load_evidence(study, scale_name: str, root: Path, warn=True, partial=False):
    """The saved results of a scale: one Dataset, or {panel: Dataset} for a scale with panels. Warns on
    stderr when a file was made by another configuration than the current scale's. ``partial``: skip the
    panels without results, named in the returned ``Evidence`` (a single grid without results: an empty
    ``Evidence``); otherwise a missing file is an error. A damaged file is an error either way."""
    sweeps = study.scale(scale_name).sweeps()
    absent = missing_panels(study, scale_name, root) if partial else []
    loaded = {}
    for panel, (base, axes) in sweeps.items():
        if panel in absent:
            continue
        path = panel_path(root, panel) / "results.nc"
        loaded[panel] = ds = engine.load_dataset(path)
        differs = config_mismatch(ds.attrs.get("config"), engine.Grid.build(base, axes).fingerprint(study.name), study.params_type)
        if differs and warn:
            print(f"rote: warning: {path} was made by a different configuration than the current {scale_name} scale "
                  f"({differs}); a custom sweep is fine, stale results should be re-made with `rote sweep`", file=sys.stderr)
    if list(sweeps) == [""]:
        return loaded[""] if loaded else Evidence({}, absent)
    return Evidence(loaded, absent)


def config_mismatch(saved_json: str | None, current: dict, params_type=None) -> str:
    """'' if a results file's saved configuration equals ``current`` (a Grid fingerprint), else a short
    description of what differs (base fields and axes). Fields ``params_type`` gained since the file
    was written count as their defaults (engine.with_new_fields)."""
    if not saved_json:
        return "no configuration recorded"
    try:
        saved = json.loads(saved_json)
    except (TypeError, ValueError):
        return "unreadable configuration"
    if params_type is not None:
        saved = engine.with_new_fields(saved, params_type)
    current = json.loads(json.dumps(current))  # tuples -> lists, as the saved JSON holds them
    if saved == current:
        return ""
    parts = []
    for key in ("base", "axes"):
        a, b = saved.get(key, {}), current.get(key, {})
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if changed:
            parts.append(f"{key} " + ", ".join(changed[:6]) + ("..." if len(changed) > 6 else ""))
    if saved.get("matmul_precision") != current.get("matmul_precision"):
        parts.append(f"matmul precision {saved.get('matmul_precision', 'default')}")
    return "; ".join(parts) or "study or parameter type"


def exclude_diverged(ds, panel: str = "", show: int = 10, log=print):
    """Name the diverged configs (NaN/inf loss) and blank their float variables, so that no claim counts
    them: a claim that needs one of them reads NaN and fails as not measurable."""
    if "diverged" not in ds or not bool(ds["diverged"].any()):
        return ds
    flag = ds["diverged"]
    where = np.argwhere(np.atleast_1d(flag.values))
    steps = np.atleast_1d(ds["diverged_step"].values) if "diverged_step" in ds else None
    log(f"rote: {len(where)} diverged config(s){' in ' + panel if panel else ''} excluded from the claims (non-finite loss):")
    for pos in where[:show]:
        cell = ", ".join(f"{d}={ds[d].values[i].item()}" for d, i in zip(flag.dims, pos)) or "the only config"
        step = f" at step {int(steps[tuple(pos)])}" if steps is not None and int(steps[tuple(pos)]) >= 0 else ""
        log(f"rote:   {cell} diverged{step}")
    if len(where) > show:
        log(f"rote:   ... and {len(where) - show} more (see the `diverged` variable)")
    ds = ds.copy()
    for name, var in ds.data_vars.items():
        if name not in ("diverged", "diverged_step") and var.dtype.kind == "f" and set(flag.dims) <= set(var.dims):
            ds[name] = var.where(~flag)
    return ds


def load_for_claims(study, scale_name: str, root: Path, log=print, partial=False):
    """The evidence the claims read: the saved results with diverged configs excluded (``partial``: as
    in ``load_evidence``, the panels on disk as ``Evidence`` naming the missing ones)."""
    ds = load_evidence(study, scale_name, root, partial=partial)
    if isinstance(ds, Evidence):
        return Evidence({panel: exclude_diverged(one, panel, log=log) for panel, one in ds.items()}, ds.missing)
    return exclude_diverged(ds, log=log)


def sweep_in_memory(study, scale_name: str, panels=None, skip=(), log=None) -> dict:
    """{panel: summarized Dataset} of a scale's panels swept in memory, nothing written, no progress bar: every
    panel, or those named in ``panels``, but those in ``skip``. ``log`` None keeps the engine quiet."""
    log = log or (lambda msg: None)
    return {name: engine.sweep(study, base, grid, None, scale=scale_name, progress=False, log=log)
            for name, (base, grid) in study.scale(scale_name).sweeps().items() if (panels is None or name in panels) and name not in skip}


def quick_or_smoke(study, skip=()) -> tuple:
    """(scale, evidence) for a notebook: the saved quick results of ``study`` if they exist, else its
    smoke scale swept in memory (without the panels in ``skip``; illustrative numbers only). Says which
    on stdout."""
    root = results_dir(study.name, "quick")
    if has_results(study, "quick", root):
        print(f"loaded the quick results from {root}")
        return study.scale("quick"), load_for_claims(study, "quick", root)
    print(f"no saved quick results in {root}: running the SMOKE scale in memory (illustrative numbers only)")
    return study.scale("smoke"), sweep_in_memory(study, "smoke", skip=skip, log=lambda msg: print(msg, file=sys.stderr))
