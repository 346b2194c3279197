"""Helpers of the engine tests (imported, not fixtures: a test module must not import ``conftest``,
which names a different file in every test folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def quiet(_msg):
    pass


class Log:
    """Collects the engine's log lines."""

    def __init__(self):
        self.lines = []

    def __call__(self, msg):
        self.lines.append(msg)

    def text(self):
        return "\n".join(self.lines)


def assert_metrics_close(a, b, metrics, atol=1e-6):
    """Every metric of two Datasets (or dicts of arrays) equal within atol; NaN where the other is NaN."""
    for name in metrics:
        x, y = np.asarray(a[name], dtype=np.float64), np.asarray(b[name], dtype=np.float64)
        assert x.shape == y.shape, name
        np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=name, equal_nan=True)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (to prove a refused sweep changed nothing)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def with_claims(monkeypatch, name: str, claims) -> None:
    """Make the registry hand out study ``name`` with ``claims`` in place of its own, for the CLI (which
    looks studies up through ``rote.sims.studies.get``) for the rest of the test."""
    import dataclasses

    from rote.sims import studies

    real_get = studies.get
    patched = dataclasses.replace(real_get(name), claims=claims)
    monkeypatch.setattr(studies, "get", lambda n: patched if n == name else real_get(n))
