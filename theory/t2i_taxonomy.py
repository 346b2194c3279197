"""The two analytic anchors of the element-level memorization taxonomy: the ideal memorizer and the ideal generalizer.

Naseh, Roh, Houmansadr, "Understanding (Un)Intended Memorization in Text-to-Image Generative Models" (arXiv
2312.07550, abstract and Sec. 3) split what a generation reproduces into explicit intended (ME: the named
entity), implicit intended (MI: unnamed features the prompt's words carry in training) and unintended (MU: a
training image, or a private part of one, beyond what the prompt and its associations call for). Events are
counted per sample, R_type = #events / (|P| S), with the whole-image match itself an MU event.

Ideal memorizer: the empirical denoiser over the training pairs that share the prompt's distinguishing word
(``rote.theory.diffusion``): DDIM returns training image i with probability m_i / sum m, so every sample is a
training image (image-level MU = 1), it carries the named glyph (ME = 1), the scene's feature with the
training fraction q_hat and a stamp seen in s of the scene's n images with probability s / n.
Ideal generalizer: samples the true attribute distribution: ME = 1, the feature at rate q, no training image
and no stamp (MU = 0). Features with q below the implicit-set cut rho are not implicit (P_train(e | w) < rho):
their rate is tracked apart as over-association (MA), not as MU.
A trained model sits between the two lines; ``position`` reports where on each axis.
"""

from __future__ import annotations

import numpy as np

TYPES = ("ME", "MI", "MA", "MU")


def _rates(me, mi, ma, mu) -> dict:
    b = np.broadcast_arrays(*(np.asarray(v, float) for v in (me, mi, ma, mu)))
    return dict(zip(TYPES, b))


def feature_fraction(q, n: int) -> np.ndarray:
    """q_hat = round(q n) / n: the training fraction of a scene's n images that carry its feature."""
    return np.round(np.asarray(q, float) * n) / n


def glyph(n_ctx, d=1) -> dict:
    """{'memorizer': rates, 'generalizer': rates, 'member': 1 / n_ctx} for a glyph prompt with n_ctx distinct images
    each duplicated d times (equal weights, so each image is drawn with probability 1 / n_ctx)."""
    n = np.asarray(n_ctx, float) + 0 * np.asarray(d, float)
    return {"memorizer": _rates(1.0, 0.0, 0.0, np.ones_like(n)), "generalizer": _rates(1.0, 0.0, 0.0, np.zeros_like(n)), "member": 1.0 / n}


def scene(q, s=0, n: int = 24, rho: float = 0.9) -> dict:
    """Rates of a scene prompt whose n training images carry the feature with fraction round(q n) / n and a private
    stamp in s of them. MU counts events: the memorizer's image match (1) plus the stamp (s / n)."""
    q = np.asarray(q, float)
    qh = feature_fraction(q, n)
    s = np.asarray(s, float)
    mem = _rates(0.0, np.where(qh >= rho, qh, 0.0), np.where(qh >= rho, 0.0, qh), 1.0 + s / n)
    gen = _rates(0.0, np.where(qh >= rho, q, 0.0), np.where(qh >= rho, 0.0, q), 0.0 * s)
    return {"memorizer": mem, "generalizer": gen, "stamp_memorizer": s / n, "stamp_generalizer": 0.0 * s}


def duplicate(d) -> dict:
    """Rates of a whole-image duplicate's generic caption: the memorizer replicates it (MU = 1), the generalizer never."""
    d = np.asarray(d, float)
    return {"memorizer": _rates(0.0, 0.0, 0.0, np.ones_like(d)), "generalizer": _rates(0.0, 0.0, 0.0, np.zeros_like(d))}


def control() -> dict:
    """Rates of a fresh generic prompt: the memorizer copies some generic training image (MU = 1), the generalizer does not."""
    return {"memorizer": _rates(0.0, 0.0, 0.0, 1.0), "generalizer": _rates(0.0, 0.0, 0.0, 0.0)}


def position(measured, memorizer, generalizer) -> np.ndarray:
    """(measured - generalizer) / (memorizer - generalizer): 0 on the generalizer's line, 1 on the memorizer's; NaN where
    the anchors coincide (the axis does not separate them)."""
    m, a, b = (np.asarray(v, float) for v in (measured, memorizer, generalizer))
    gap = a - b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(gap) > 1e-12, (m - b) / np.where(np.abs(gap) > 1e-12, gap, 1.0), np.nan)
