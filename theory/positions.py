"""Closed-form positional encodings."""

from __future__ import annotations

import numpy as np


def sinusoidal(length: int, width: int, base: float = 10000.0) -> np.ndarray:
    """(length, width) float64 table of Vaswani et al. (arXiv 1706.03762, Sec. 3.5):
    PE[i, 2j] = sin(i / base^(2j / width)), PE[i, 2j + 1] = cos(i / base^(2j / width))."""
    pos = np.arange(length)[:, None]
    rate = np.exp(-np.log(base) * (np.arange(0, width, 2) / width))
    pe = np.zeros((length, width))
    pe[:, 0::2] = np.sin(pos * rate)
    pe[:, 1::2] = np.cos(pos * rate[: width // 2])
    return pe
