"""Plotting helpers shared by every study's figures.

Figures are built on ``matplotlib.figure.Figure`` directly (Agg canvas, never registered with pyplot),
so nothing stays open after saving and no global backend is switched for notebooks importing them.
Every figure is written atomically (a full disk leaves no half-written image, and fails in one line) and
announced on the ``rote.figures`` logger once it is in place (``rote figures`` prints each as it comes).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..sims.atomic import atomic_write
from ..sims.study import param_value

DPI = 130
_log = logging.getLogger("rote.figures")


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` at the gallery resolution (atomically; its format from the suffix),
    announce it, and return the path."""
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip(".") or None))
    _log.info(str(path))
    return path


def empty(fig: Figure, message: str, path: Path) -> Path:
    """A figure that says in words why it has nothing to draw (missing panel or cells)."""
    fig.text(0.5, 0.5, message, ha="center", va="center")
    return save(fig, path)


def scalar_param(ds: xr.Dataset, name: str):
    """A parameter of the sweep as a Python scalar when it has one value (a size-1 or scalar coordinate,
    or the base value), else the array of its swept values."""
    value = param_value(ds, name)
    if isinstance(value, xr.DataArray):
        values = np.asarray(value.values)
        return values.reshape(-1)[0].item() if values.size == 1 else values
    return value


def unique_legend(fig: Figure, axes, order: tuple[str, ...] = (), **kwargs):
    """One figure legend with each label once; labels starting with an ``order`` prefix come first, in
    that order (column-major filling keeps them together)."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    rank = lambda lab: next((i for i, prefix in enumerate(order) if lab.startswith(prefix)), len(order))
    pairs = sorted(zip(handles, labels), key=lambda hl: rank(hl[1]))
    if pairs:
        fig.legend([h for h, _ in pairs], [lab for _, lab in pairs], loc="outside lower center", **kwargs)


def show(path) -> None:
    """Display a written PNG at its own size inside a notebook (pyplot, so it needs a display backend)."""
    import matplotlib.pyplot as plt

    img = plt.imread(path)
    _, ax = plt.subplots(figsize=(img.shape[1] / 130, img.shape[0] / 130))
    ax.imshow(img)
    ax.axis("off")
    plt.show()
