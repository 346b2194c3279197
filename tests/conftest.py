"""Session-scoped results of the engine tests, on their toy study (``tests/engine/toy_study.py``).

Nothing is read from results/. Compiled functions are cached per (static group, chunk size), so the
engine tests reuse chunk sizes 4 and 6 on the tiny grid wherever they can. Each study's own fixtures
live in its folder's conftest.py (tests/<study>/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest
from engine.support import quiet
from engine.toy_study import STUDY, TOY, TOY_AXES

from rote.sims import engine

TESTS = Path(__file__).parent


def pytest_configure(config):
    """One JAX persistent compilation cache for the whole test session, shared by the xdist workers and the
    processes they start (notebook kernels, CLI subprocesses): the same program compiled twice in a session
    (a study's smoke fixtures and its notebook's smoke fallback, the same sweep in two test files) is
    compiled once. Made by the controller in a fresh temporary directory, removed at the end; a cached
    executable is the same binary, so no number changes. A JAX_COMPILATION_CACHE_DIR set by the caller wins."""
    if not hasattr(config, "workerinput") and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        config.rote_jax_cache = tempfile.mkdtemp(prefix="rote-test-jax-cache-")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = config.rote_jax_cache
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:  # jax is already imported here: its config read the environment before
        jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", 0)))


def pytest_unconfigure(config):
    if getattr(config, "rote_jax_cache", None):
        shutil.rmtree(config.rote_jax_cache, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (its worker hook would otherwise run first)
def pytest_collection_modifyitems(config, items):
    """One xdist group per study folder (tests/<study>/: its session fixtures are computed once, on one
    worker) and per top-level file, for `pytest -n 2 --dist loadgroup` (the Makefile's test command). A
    study's notebook joins its study's group: it runs after the study's tests (collection order) on the
    same worker, so its smoke fallback finds the fixtures' programs in the compilation cache
    (pytest_configure); a notebook without a study folder is a group of its own."""
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(TESTS.resolve())
        group = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if rel.stem == "test_notebooks" and hasattr(item, "callspec"):
            stem = item.callspec.id
            group = stem if (TESTS / stem).is_dir() else f"{group}-{stem}"
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def toy_ref():
    """The tiny grid in memory, one chunk per static group (chunk size 6)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=6, progress=False, log=quiet)


@pytest.fixture(scope="session")
def toy_ref4():
    """The same grid with chunk size 4: each group of 6 is cut into 4 + 2 (padded to 4)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=4, progress=False, log=quiet)
