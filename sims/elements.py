"""Visual elements with analytic detectors, for element-level memorization audits of text-to-image models.

Naseh, Roh, Houmansadr, "Understanding (Un)Intended Memorization in Text-to-Image Generative Models" (arXiv
2312.07550) split memorization by what a user expects: a named entity (explicit intended, ME), an unnamed
feature tied to a prompt's words (implicit intended, MI), a training image or private part of one
(unintended, MU). Here each element is a synthetic pattern that exists only where it is pasted, so its
presence is decided by a closed-form detector, without a learned judge:
  * glyphs: G distinct binary g x g patterns (g = 4 at 8 x 8, 5 at 16 x 16), ones in a fixed hue, zeros dark,
    pasted at a random position (the named entities);
  * scene features: a sun disc (top-right), a horizontal stripe (a bright row between dark rows) and a
    vertical-stripe texture (bottom-left), each at a fixed place (the unnamed associated features);
  * stamps: K random 3 x 3 noise patches pasted into a random corner (watermarks, ID numbers, faces).
The detector of every element is the maximum normalised cross-correlation (the mean-centred cosine of the
pattern and each window, all channels) over positions (Lewis, "Fast normalized cross-correlation", 1995).
Images are (n, H, W, 3) float32 in [-1, 1] as in ``rote.sims.images``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .images import HUES

DARK = -1.0
FEATURES = ("sun", "stripe", "texture")
STAMP = 3  # stamp side in pixels


def glyph_side(image: int) -> int:
    """Glyph side g: 4 at 8 x 8 (half a quarter of the pixels), 5 from 16 x 16 on."""
    return 4 if image < 16 else 5


def glyph_patterns(key, n: int, side: int) -> jnp.ndarray:
    """(n, side, side, 3) glyph patches: a random binary pattern with 40-60 % ones (so the window always has
    contrast), ones in hue k mod 6 of ``rote.sims.images.HUES``, zeros dark."""
    keys = jax.random.split(key, n)

    def one(k):
        order = jax.random.permutation(k, side * side)
        ones = (order < side * side // 2).reshape(side, side)  # exactly half (rounded down) of the cells
        return ones

    ones = jax.vmap(one)(keys)[..., None]
    hue = jnp.asarray(HUES)[jnp.arange(n) % len(HUES)][:, None, None, :]
    return jnp.where(ones, hue, DARK)


def feature_patches(image: int) -> list[tuple[jnp.ndarray, tuple[int, int]]]:
    """The three scene features as (patch (h, w, 3), top-left (y, x)): sun disc (yellow plus on dark, top-right),
    horizontal stripe (a white row between two dark rows, full width, at row H // 2 - 1), vertical-stripe
    texture (alternating magenta and dark columns, bottom-left)."""
    s = glyph_side(image)
    yy, xx = np.mgrid[:s, :s]
    c = (s - 1) / 2
    disc = ((yy - c) ** 2 + (xx - c) ** 2 <= (s / 2) ** 2 * 0.75)[..., None]
    sun = np.where(disc, np.array([1, 1, -.8], np.float32), DARK)
    stripe = np.full((3, image, 3), DARK, np.float32)
    stripe[1] = 1.0
    tex = np.where((np.arange(s) % 2 == 0)[None, :, None], np.array([1, -.8, 1], np.float32), DARK) * np.ones((s, 1, 1), np.float32)
    return [(jnp.asarray(sun, jnp.float32), (0, image - s)), (jnp.asarray(stripe), (image // 2 - 1, 0)),
            (jnp.asarray(tex, jnp.float32), (image - s, 0))]


def stamps(key, n: int) -> jnp.ndarray:
    """(n, 3, 3, 3) private stamps: uniform noise in [-1, 1]."""
    return jax.random.uniform(key, (n, STAMP, STAMP, 3), minval=-1.0, maxval=1.0)


def paste(images, patch, y, x, on=None) -> jnp.ndarray:
    """Paste ``patch`` (h, w, 3) into images (n, H, W, 3) at top-left (y, x) (ints or (n,) arrays), where ``on``
    (n,) bool (default: everywhere). The patch replaces the pixels it covers."""
    n = images.shape[0]
    y, x = jnp.broadcast_to(jnp.asarray(y, jnp.int32), (n,)), jnp.broadcast_to(jnp.asarray(x, jnp.int32), (n,))
    pasted = jax.vmap(lambda im, a, b: jax.lax.dynamic_update_slice(im, patch.astype(im.dtype), (a, b, 0)))(images, y, x)
    if on is None:
        return pasted
    return jnp.where(jnp.asarray(on)[:, None, None, None], pasted, images)


def paste_each(images, patches, y, x, on=None) -> jnp.ndarray:
    """Paste patches[i] (n, h, w, 3) into images[i] at (y[i], x[i]) where on[i]."""
    n = images.shape[0]
    y, x = jnp.broadcast_to(jnp.asarray(y, jnp.int32), (n,)), jnp.broadcast_to(jnp.asarray(x, jnp.int32), (n,))
    pasted = jax.vmap(lambda im, p, a, b: jax.lax.dynamic_update_slice(im, p.astype(im.dtype), (a, b, 0)))(images, patches, y, x)
    if on is None:
        return pasted
    return jnp.where(jnp.asarray(on)[:, None, None, None], pasted, images)


def corners(image: int, side: int) -> np.ndarray:
    """(4, 2) top-left positions of a side x side patch in the four corners."""
    far = image - side
    return np.array([[0, 0], [0, far], [far, 0], [far, far]], np.int32)


def _unit(v):
    v = v - v.mean(-1, keepdims=True)
    return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def windows(images, h: int, w: int) -> jnp.ndarray:
    """(n, positions, h w 3) every h x w window of images (n, H, W, 3), flattened in (y, x, channel) order."""
    n = images.shape[0]
    pt = jax.lax.conv_general_dilated_patches(images, (h, w), (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    # conv_general_dilated_patches orders each patch's features channel-major: (channel, y, x)
    pt = pt.reshape(n, -1, 3, h, w)
    return jnp.moveaxis(pt, 2, -1).reshape(n, pt.shape[1], h * w * 3)


def max_ncc(images, patch) -> jnp.ndarray:
    """(n,) the maximum over positions of the normalised cross-correlation of ``patch`` (h, w, 3) with the windows
    of images (n, H, W, 3): the mean-centred cosine over the h w 3 values (a flat window scores 0)."""
    return ncc_scores(images, [patch])[:, 0]


def ncc_scores(images, patches) -> jnp.ndarray:
    """(n, E) max NCC of every patch in the list ``patches`` (each (h_e, w_e, 3)) with images (n, H, W, 3); the windows
    are extracted once per distinct patch shape."""
    out = [None] * len(patches)
    for shape in dict.fromkeys(tuple(p.shape) for p in patches):
        which = [i for i, p in enumerate(patches) if tuple(p.shape) == shape]
        wins = _unit(windows(images, shape[0], shape[1]))
        pats = _unit(jnp.stack([patches[i].reshape(-1) for i in which]))
        best = jnp.max(wins @ pats.T, 1)  # (n, len(which))
        for j, i in enumerate(which):
            out[i] = best[:, j]
    return jnp.stack(out, -1)


def calibrated_threshold(fresh_scores, nominal, fire: float = 0.01) -> jnp.ndarray:
    """The larger of ``nominal`` and the (1 - fire) quantile of scores on fresh images without the element, so at most
    ``fire`` of them fire (ties aside): fresh_scores (n, E) -> (E,)."""
    return jnp.maximum(nominal, jnp.quantile(fresh_scores, 1.0 - fire, axis=0))


def phi(a, b) -> float:
    """Phi coefficient of two binary sequences (the Pearson correlation of 0/1 variables); NaN when either is constant."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.size == 0 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
