"""Procedural images and captions for the text-to-image studies, and duplication as multiplicities.

Images are (H, W, 3) float32 in [-1, 1], flattened to H W 3 for the MLP denoiser (``rote.sims.diffusion``).
Families (all rendered in JAX from a key, so a run's data derive from its seed alone):
  * generic shapes: one shape (circle, square, triangle, cross, ring), colour (6 hues, small jitter), size
    (3 levels, jitter), continuous position named by a 3 x 3 grid word, background (4 colours); caption
    "a {size} {colour} {shape} {row} {col} on {bg}" over ``GENERIC_WORDS`` (27 words);
  * low-pass fields: a sum of 3 random 2-D sinusoids per channel (at most ``max_freq`` cycles per image),
    scaled to [-1, 1]: rare images that shapes cannot compose (Carlini et al. arXiv 2301.13188 and
    Somepalli et al. arXiv 2212.03860 study the replication of such unique training images);
  * templates: a fixed border frame and logo patch (the template) around a random low-pass inner texture,
    the "template verbatim" of Webster (arXiv 2305.08694, Sec. 4).
Duplication is a per-row multiplicity m used as a sampling weight (as somepago/DCR does, Somepalli et al.
arXiv 2305.20086): the arrays keep fixed shapes and a duplication level can be traced (``copy_mask``).
Captions are fixed-length int arrays, token 0 = pad; a ``Vocabulary`` maps words to ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ConfigError

SIZES = ("small", "medium", "large")
COLOURS = ("red", "green", "blue", "yellow", "cyan", "magenta")
SHAPES = ("circle", "square", "triangle", "cross", "ring")
ROWS = ("top", "middle", "bottom")
COLS = ("left", "center", "right")
BACKGROUNDS = ("black", "white", "gray", "brown")
GENERIC_WORDS = ("a", "on") + SIZES + COLOURS + SHAPES + ROWS + COLS + BACKGROUNDS
ATTRIBUTES = (SIZES, COLOURS, SHAPES, ROWS, COLS, BACKGROUNDS)  # the order of a generic image's attribute ints
GENERIC_LENGTH = 8  # tokens of a generic caption

HUES = np.array([[1, -.8, -.8], [-.8, 1, -.8], [-.8, -.8, 1], [1, 1, -.8], [-.8, 1, 1], [1, -.8, 1]], np.float32)
BG_COLOURS = np.array([[-1, -1, -1], [1, 1, 1], [0, 0, 0], [.2, -.3, -.6]], np.float32)
RADII = np.array([0.10, 0.14, 0.18], np.float32)  # of the image side, per size level
MIN_SIZE, MAX_SIZE = 8, 32


def check_image_size(image: int) -> None:
    """The sizes the families and the model take: a multiple of 4 in [8, 32] (frame, logo patch and a 3 x 3
    position grid must fit; the MLP's input is H W 3)."""
    if not (MIN_SIZE <= image <= MAX_SIZE and image % 4 == 0):
        raise ConfigError(f"image size {image} is not one the model takes: use a multiple of 4 in [{MIN_SIZE}, {MAX_SIZE}]")


@dataclass(frozen=True)
class Vocabulary:
    """Word -> token id (0 is the pad token). ``words``: every word in id order starting at id 1."""

    words: tuple[str, ...]

    @classmethod
    def of(cls, *groups) -> "Vocabulary":
        words = tuple(w for g in groups for w in g)
        if len(set(words)) != len(words):
            raise ConfigError("vocabulary words must be distinct")
        return cls(words)

    def __len__(self) -> int:
        return len(self.words) + 1

    def id(self, word: str) -> int:
        return self.words.index(word) + 1

    def ids(self, words) -> np.ndarray:
        return np.array([self.id(w) for w in words], np.int32)

    def decode(self, tokens) -> str:
        return " ".join(self.words[int(t) - 1] for t in np.asarray(tokens) if int(t) > 0)


def generic_table(vocab: Vocabulary) -> np.ndarray:
    """(6, max levels) int32: token id of each attribute value (row = attribute in ``ATTRIBUTES`` order)."""
    out = np.zeros((len(ATTRIBUTES), max(len(a) for a in ATTRIBUTES)), np.int32)
    for i, values in enumerate(ATTRIBUTES):
        out[i, : len(values)] = vocab.ids(values)
    return out


def random_attributes(key, n: int) -> jnp.ndarray:
    """(n, 6) int32 uniform attribute values (size, colour, shape, row, col, background)."""
    ks = jax.random.split(key, len(ATTRIBUTES))
    return jnp.stack([jax.random.randint(k, (n,), 0, len(a)) for k, a in zip(ks, ATTRIBUTES)], -1).astype(jnp.int32)


def generic_captions(attrs, table, length: int) -> jnp.ndarray:
    """(n, length) tokens "a {size} {colour} {shape} {row} {col} on {bg}" then pads; attrs (n, 6)."""
    words = jnp.asarray(table)[jnp.arange(len(ATTRIBUTES)), attrs]  # (n, 6)
    a, on = int(table[0, 0]) - 2, int(table[0, 0]) - 1  # 'a' and 'on' precede the sizes in GENERIC_WORDS
    cap = jnp.zeros((attrs.shape[0], length), jnp.int32)
    return cap.at[:, 0].set(a).at[:, 1:6].set(words[:, :5]).at[:, 6].set(on).at[:, 7].set(words[:, 5])


def _grid(image: int):
    c = (jnp.arange(image, dtype=jnp.float32) + 0.5) / image
    return c[:, None], c[None, :]  # y (rows), x (cols)


def render_generic(key, attrs, image: int) -> jnp.ndarray:
    """Images (n, image, image, 3) of the attributes (n, 6): continuous position jitter within the grid cell
    (+-0.3 cell), size jitter +-10 %, colour jitter +-0.1, soft (anti-aliased) edges."""
    n = attrs.shape[0]
    k_pos, k_size, k_col = jax.random.split(key, 3)
    size, colour, shape, row, col, bg = (attrs[:, i] for i in range(6))
    off = jax.random.uniform(k_pos, (n, 2), minval=-0.3, maxval=0.3)
    cy, cx = (row + 0.5 + off[:, 0]) / 3, (col + 0.5 + off[:, 1]) / 3
    r = jnp.asarray(RADII)[size] * (1 + jax.random.uniform(k_size, (n,), minval=-0.1, maxval=0.1))
    y, x = _grid(image)
    dy, dx = y[None] - cy[:, None, None], x[None] - cx[:, None, None]
    rr = r[:, None, None]
    dist = jnp.sqrt(dx**2 + dy**2)
    sharp = 2.0 * image
    soft = lambda v: jax.nn.sigmoid(sharp * v)  # noqa: E731 - inside > 0
    masks = jnp.stack([
        soft(rr - dist),  # circle
        soft(rr * 0.85 - jnp.maximum(jnp.abs(dx), jnp.abs(dy))),  # square
        soft(jnp.minimum(dy + rr * 0.8, rr * 0.9 - jnp.abs(dx) - 0.5 * (rr * 0.8 - dy) + 0.4 * rr)),  # triangle (apex up)
        jnp.maximum(soft(jnp.minimum(rr * 0.35 - jnp.abs(dx), rr - jnp.abs(dy))),
                    soft(jnp.minimum(rr * 0.35 - jnp.abs(dy), rr - jnp.abs(dx)))),  # cross
        soft(jnp.minimum(rr - dist, dist - rr * 0.5)),  # ring
    ], 1)  # (n, 5, H, W)
    mask = jnp.take_along_axis(masks, shape[:, None, None, None], 1)[:, 0][..., None]
    fg = jnp.clip(jnp.asarray(HUES)[colour] + jax.random.uniform(k_col, (n, 3), minval=-0.1, maxval=0.1), -1, 1)
    back = jnp.asarray(BG_COLOURS)[bg]
    return mask * fg[:, None, None, :] + (1 - mask) * back[:, None, None, :]


def low_pass(key, n: int, image: int, components: int = 3, max_freq: float = 2.0) -> jnp.ndarray:
    """(n, image, image, 3) random low-pass fields: per channel a sum of ``components`` 2-D sinusoids with
    frequencies uniform in [-max_freq, max_freq] cycles per image and uniform phases, scaled to max |.| = 1."""
    k_f, k_p, k_a = jax.random.split(key, 3)
    f = jax.random.uniform(k_f, (n, 3, components, 2), minval=-max_freq, maxval=max_freq)
    phase = jax.random.uniform(k_p, (n, 3, components), maxval=2 * jnp.pi)
    amp = jax.random.uniform(k_a, (n, 3, components), minval=0.5, maxval=1.0)
    y, x = _grid(image)
    arg = 2 * jnp.pi * (f[..., 0, None, None] * y + f[..., 1, None, None] * x) + phase[..., None, None]
    field = (amp[..., None, None] * jnp.sin(arg)).sum(2)  # (n, 3, H, W)
    field = field / jnp.max(jnp.abs(field), axis=(-1, -2, -3), keepdims=True)
    return jnp.moveaxis(field, 1, -1)


def template_mask(image: int) -> jnp.ndarray:
    """(image, image) float 0/1: the frame (width max(1, image // 8)) and the logo patch (image // 4 square in the
    top-left corner inside the frame), the region a template group shares."""
    b, s = max(1, image // 8), image // 4
    idx = jnp.arange(image)
    frame = (idx[:, None] < b) | (idx[:, None] >= image - b) | (idx[None, :] < b) | (idx[None, :] >= image - b)
    logo = (idx[:, None] >= b) & (idx[:, None] < b + s) & (idx[None, :] >= b) & (idx[None, :] < b + s)
    return (frame | logo).astype(jnp.float32)


def templates(key, groups: int, image: int) -> jnp.ndarray:
    """(groups, image, image, 3) template layers: a random frame colour and a random +-1 logo pattern per group
    (zero outside ``template_mask``)."""
    k_c, k_l = jax.random.split(key)
    colour = jax.random.uniform(k_c, (groups, 1, 1, 3), minval=-1, maxval=1)
    logo = jnp.where(jax.random.bernoulli(k_l, 0.5, (groups, image, image, 3)), 1.0, -1.0)
    b, s = max(1, image // 8), image // 4
    idx = jnp.arange(image)
    in_logo = ((idx[:, None] >= b) & (idx[:, None] < b + s) & (idx[None, :] >= b) & (idx[None, :] < b + s))[..., None]
    mask = template_mask(image)[..., None]
    return mask * jnp.where(in_logo, logo, colour)


def template_images(key, template, n: int, image: int) -> jnp.ndarray:
    """(n, image, image, 3) members of one template group: the template (image, image, 3) on its mask and a fresh
    low-pass inner texture elsewhere."""
    mask = template_mask(image)[..., None]
    return mask * template + (1 - mask) * low_pass(key, n, image)


def copy_mask(levels, slots: int) -> jnp.ndarray:
    """(n, slots) float 0/1: the first ``levels[i]`` of row i's ``slots`` copies are present. ``levels`` may be
    traced, so a duplication level is a sweep axis over fixed shapes (rows with distinct captions per copy)."""
    return (jnp.arange(slots)[None, :] < jnp.asarray(levels)[:, None]).astype(jnp.float32)


def log_multiplicities(m) -> jnp.ndarray:
    """log m with -inf where m = 0: the logits of weighted row sampling (``jax.random.categorical``)."""
    m = jnp.asarray(m, jnp.float32)
    return jnp.where(m > 0, jnp.log(jnp.maximum(m, 1e-30)), -jnp.inf)


def insert_random_words(key, captions, p, vocab_size: int, slots) -> jnp.ndarray:
    """Random word insertion (Somepalli et al. arXiv 2305.20086, Sec. 5): each of the caption positions
    ``slots`` (pads reserved for it) receives a uniformly random word with probability p; captions (B, L)."""
    k_on, k_word = jax.random.split(key)
    slots = jnp.asarray(slots)
    on = jax.random.bernoulli(k_on, p, (captions.shape[0], slots.shape[0]))
    words = jax.random.randint(k_word, on.shape, 1, vocab_size)
    return captions.at[:, slots].set(jnp.where(on, words, captions[:, slots]))


# --------------------------------------------------------------------------------------------------
# Image similarity and the rule-based attribute reader
# --------------------------------------------------------------------------------------------------


def centred_unit(x, mask=None) -> jnp.ndarray:
    """Flattened images (..., D) (or (..., H, W, 3) with a (H, W) mask), mean-centred over the (masked) pixels
    and scaled to unit norm, so a dot product is the mean-centred pixel cosine."""
    if mask is not None:
        m = jnp.broadcast_to(mask[..., None], x.shape[-3:]).reshape(-1)
        x = x.reshape(*x.shape[:-3], -1)
        mean = (x * m).sum(-1, keepdims=True) / m.sum()
        x = (x - mean) * m
    else:
        x = x - x.mean(-1, keepdims=True)
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def nearest(samples, train):
    """Nearest training image by mean-centred cosine: samples (S, D), train (N, D) -> (index (S,), cosine (S,),
    NN ratio ||g - NN1|| / ||g - NN2|| (S,) with neighbours by l2 distance)."""
    cos = centred_unit(samples) @ centred_unit(train).T
    d2 = jnp.sum(samples**2, -1)[:, None] - 2 * samples @ train.T + jnp.sum(train**2, -1)[None]
    two = -jax.lax.top_k(-d2, 2)[0]
    ratio = jnp.sqrt(jnp.maximum(two[:, 0], 0)) / jnp.sqrt(jnp.maximum(two[:, 1], 1e-12))
    return jnp.argmax(cos, -1), jnp.max(cos, -1), ratio


def read_generic(images, bg) -> jnp.ndarray:
    """Rule-based attribute reader: images (n, H, W, 3), their prompted backgrounds bg (n,) -> (n, 3) int
    (colour, row, col): foreground = pixels whose RMS distance (over channels) from the background colour is at
    least half the image's largest one, that largest being above 0.15; colour = the hue nearest their mean
    colour, row / col = the grid cell of their centroid; -1 when no pixel is foreground."""
    n, H, W, _ = images.shape
    back = jnp.asarray(BG_COLOURS)[bg][:, None, None, :]
    dist = jnp.sqrt(jnp.mean((images - back) ** 2, -1))  # (n, H, W)
    top = dist.max((1, 2), keepdims=True)
    fg = (dist >= 0.5 * top) & (top > 0.15)
    count = fg.sum((1, 2))
    w = fg.astype(jnp.float32)[..., None]
    mean = (images * w).sum((1, 2)) / jnp.maximum(count, 1)[:, None]
    colour = jnp.argmin(jnp.sum((mean[:, None, :] - jnp.asarray(HUES)[None]) ** 2, -1), -1)
    y, x = _grid(H)
    cy = (fg * y[None]).sum((1, 2)) / jnp.maximum(count, 1)
    cx = (fg * jnp.broadcast_to(x, (H, W))[None]).sum((1, 2)) / jnp.maximum(count, 1)
    cell = lambda v: jnp.clip(jnp.floor(v * 3), 0, 2).astype(jnp.int32)  # noqa: E731
    out = jnp.stack([colour, cell(cy), cell(cx)], -1)
    return jnp.where(count[:, None] > 0, out, -1)


def attribute_accuracy(images, attrs) -> jnp.ndarray:
    """(n,) the fraction of colour, row and column read correctly (``read_generic``) from images prompted with
    attributes attrs (n, 6)."""
    read = read_generic(images, attrs[:, 5])
    want = attrs[:, jnp.array([1, 3, 4])]
    return jnp.mean((read == want).astype(jnp.float32), -1)
