"""The training set and the prompts of the `t2i-taxonomy` study (one training set per seed holds every family).

Element families (Naseh, Roh, Houmansadr, arXiv 2312.07550: explicit intended ME, implicit intended MI, unintended
MU), each pattern from ``rote.sims.elements`` with an analytic detector:
  glyph    G = conditions x per level tokens "glyph{k}"; glyph k is pasted at its own place (drawn once per glyph
           from the seed, like a logo) on n_ctx distinct generic shape backgrounds, each image duplicated d times (the under-represented entity: n_ctx = 1,
           d = 16); caption = the background's generic caption + "glyph{k}";
  scene    words "desert{i}", "harbour{i}", "forest{i}" (features sun, stripe, texture rotate); each scene has
           ``scene_images`` generic backgrounds, the first round(q n) of them carry the scene's feature (never
           named); caption = "{scene}" + the generic caption;
  stamp    stamp k sits in a random corner of the last s_k images of scene k (one stamp per scene word);
  texture  unique low-pass fields with generic captions, each duplicated d times (whole-image duplicates).
Generic shapes (each once) fill the rest. Prompt classes: glyph ("a {fresh generic caption} glyph{k}"), scene
("{scene} {fresh generic caption}": the scene's feature and, for stamped scenes, its stamp), dup (the texture's
training caption), control (fresh generic captions). Layouts are static (numpy); images and captions are
drawn in JAX from the seed's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ... import elements as el
from ... import images as im
from .params import TaxonomyParams

CAPTION = 12  # 8 generic words, the distinguishing word at 8, a pad, then INSERT_SLOTS for random word insertion
WORD_SLOT = im.GENERIC_LENGTH
INSERT_SLOTS = (10, 11)
SCENE_NAMES = ("desert", "harbour", "forest")  # feature j % 3 of el.FEATURES
CLASSES = ("glyph", "scene", "dup", "control")
FAMILIES = ("glyph", "feature", "stamp")
FRESH_KINDS = ("generic", "lowpass", "glyph", "scene")  # blocks of the fresh images
FRESH_OF_KIND = (0, 2, 3, 1)  # image kind (generic, glyph, scene, texture) -> the fresh block whose 99th percentile judges a copy of it


@dataclass(frozen=True)
class Layout:
    """Static sizes and index arrays.

    Glyphs: ``glyph_n`` (G,) n_ctx, ``glyph_d`` (G,) duplicates. Scenes: ``scene_q`` (J,), ``scene_feature`` (J,),
    ``scene_stamp`` (J,) stamp index or -1, ``scene_with_feature`` (J,) images carrying the feature. Stamps:
    ``stamp_s`` (K,). Textures: ``texture_d`` (X,). Unique images U (generic, glyph, scene, texture) with
    ``image_kind`` (U,) (0 generic, 1 glyph, 2 scene, 3 texture), ``image_owner`` (U,) (glyph, scene or texture
    index; -1 generic), ``image_m`` (U,) multiplicity and ``presence`` (U, E) of the E = G + 3 + K elements.
    Prompts: ``prompt_class`` (P,) (CLASSES index), ``prompt_owner`` (P,) (glyph / scene / texture index, -1).
    """

    vocab: im.Vocabulary
    glyph_n: np.ndarray
    glyph_d: np.ndarray
    scene_q: np.ndarray
    scene_feature: np.ndarray
    scene_stamp: np.ndarray
    scene_with_feature: np.ndarray
    stamp_s: np.ndarray
    texture_d: np.ndarray
    image_kind: np.ndarray
    image_owner: np.ndarray
    image_m: np.ndarray
    presence: np.ndarray
    prompt_class: np.ndarray
    prompt_owner: np.ndarray

    @property
    def G(self) -> int:
        return len(self.glyph_n)

    @property
    def J(self) -> int:
        return len(self.scene_q)

    @property
    def K(self) -> int:
        return len(self.stamp_s)

    @property
    def X(self) -> int:
        return len(self.texture_d)

    @property
    def E(self) -> int:
        return self.G + len(el.FEATURES) + self.K

    @property
    def element_family(self) -> np.ndarray:
        """(E,) FAMILIES index of every element."""
        return np.concatenate([np.zeros(self.G), np.ones(len(el.FEATURES)), np.full(self.K, 2)]).astype(np.int32)

    @property
    def element_names(self) -> list[str]:
        return [f"glyph{k}" for k in range(self.G)] + list(el.FEATURES) + [f"stamp{k}" for k in range(self.K)]

    def prompts_of(self, cls: str) -> np.ndarray:
        return np.flatnonzero(self.prompt_class == CLASSES.index(cls))

    def images_of(self, kind: int, owner: int) -> np.ndarray:
        return np.flatnonzero((self.image_kind == kind) & (self.image_owner == owner))


def scene_words(J: int) -> list[str]:
    return [f"{SCENE_NAMES[j % 3]}{j // 3}" for j in range(J)]


def layout(p: TaxonomyParams) -> Layout:
    cond = np.asarray(p.glyph_conditions, np.int64)
    glyph_n, glyph_d = np.repeat(cond[:, 0], p.glyphs_per_level), np.repeat(cond[:, 1], p.glyphs_per_level)
    G = len(glyph_n)
    scene_q = np.repeat(np.asarray(p.qs), p.scenes_per_q)
    J = len(scene_q)
    scene_feature = np.arange(J) % len(el.FEATURES)
    n = p.scene_images
    with_feature = np.round(scene_q * n).astype(np.int64)
    stamp_s = np.repeat(np.asarray(p.stamp_counts), p.stamps_per_level)
    K = len(stamp_s)
    # stamps go to the scenes with the highest q first (so a stamp is never confounded with a missing feature)
    scene_stamp = np.full(J, -1)
    scene_stamp[np.arange(J)[::-1][:K]] = np.arange(K)
    texture_d = np.repeat(np.asarray(p.texture_levels), p.textures_per_level)
    X = len(texture_d)
    N = p.generic
    kind = np.concatenate([np.zeros(N), np.ones(glyph_n.sum()), np.full(J * n, 2), np.full(X, 3)]).astype(np.int32)
    owner = np.concatenate([np.full(N, -1), np.repeat(np.arange(G), glyph_n), np.repeat(np.arange(J), n), np.arange(X)]).astype(np.int32)
    m = np.concatenate([np.ones(N), np.repeat(glyph_d, glyph_n), np.ones(J * n), texture_d]).astype(np.float32)
    E = G + len(el.FEATURES) + K
    pres = np.zeros((len(kind), E), bool)
    g_rows = np.flatnonzero(kind == 1)
    pres[g_rows, owner[g_rows]] = True
    for j in range(J):
        rows = np.flatnonzero((kind == 2) & (owner == j))
        pres[rows[: with_feature[j]], G + scene_feature[j]] = True
        if scene_stamp[j] >= 0:
            k = scene_stamp[j]
            pres[rows[n - stamp_s[k]:], G + len(el.FEATURES) + k] = True
    cls = np.concatenate([np.zeros(G), np.ones(J), np.full(X, 2), np.full(p.control_prompts, 3)]).astype(np.int32)
    pown = np.concatenate([np.arange(G), np.arange(J), np.arange(X), np.full(p.control_prompts, -1)]).astype(np.int32)
    vocab = im.Vocabulary.of(im.GENERIC_WORDS, [f"glyph{k}" for k in range(G)], scene_words(J))
    return Layout(vocab, glyph_n.astype(np.int32), glyph_d.astype(np.int32), scene_q.astype(np.float32), scene_feature.astype(np.int32),
                  scene_stamp.astype(np.int32), with_feature.astype(np.int32), stamp_s.astype(np.int32), texture_d.astype(np.int32),
                  kind, owner, m, pres, cls, pown)


def element_patches(p: TaxonomyParams, key) -> list:
    """The E element patterns (glyphs, features, stamps), in layout order, for the detectors."""
    lay = layout(p)
    k_g, k_s = jax.random.split(key)
    glyphs = el.glyph_patterns(k_g, lay.G, el.glyph_side(p.image))
    stamps = el.stamps(k_s, lay.K)
    return [glyphs[k] for k in range(lay.G)] + [f for f, _ in el.feature_patches(p.image)] + [stamps[k] for k in range(lay.K)]


def _with_word(cap, word_ids):
    return cap.at[:, WORD_SLOT].set(jnp.asarray(word_ids, jnp.int32))


def make_data(p: TaxonomyParams, key) -> dict:
    """Every array of one seed: images (U, D) flattened, captions (U, L), log multiplicities (U,), prompts (P, L),
    presence (U, E), the element patterns (list), fresh calibration images (Fa, D) with their presence (Fa, E)."""
    lay = layout(p)
    v, H, N = lay.vocab, p.image, p.generic
    G, J, X = lay.G, lay.J, lay.X
    g = el.glyph_side(H)
    table = im.generic_table(v)
    names = ("elements", "gattr", "gimg", "glattr", "glimg", "glpos", "scattr", "scimg", "stcorner", "tex", "texattr", "pattr", "sattr",
             "cattr", "f_attr", "f_img", "f_lp", "f_gattr", "f_gimg", "f_gpos", "f_gwhich", "f_sattr", "f_simg", "f_swhich")
    ks = dict(zip(names, jax.random.split(key, len(names))))
    patches = element_patches(p, ks["elements"])
    glyphs = jnp.stack(patches[:G])
    feats = el.feature_patches(H)
    stamps = jnp.stack(patches[G + len(feats):]) if lay.K else jnp.zeros((0, el.STAMP, el.STAMP, 3))

    attrs = im.random_attributes(ks["gattr"], N)
    generic = im.render_generic(ks["gimg"], attrs, H)
    cap_generic = im.generic_captions(attrs, table, CAPTION)

    n_gl = int(lay.glyph_n.sum())
    gl_owner = lay.image_owner[lay.image_kind == 1]
    gl_attrs = im.random_attributes(ks["glattr"], n_gl)
    home = jax.random.randint(ks["glpos"], (G, 2), 0, H - g + 1)  # each glyph's own place (NOTES.md: fixed per glyph)
    pos = home[gl_owner]
    gl_imgs = el.paste_each(im.render_generic(ks["glimg"], gl_attrs, H), glyphs[gl_owner], pos[:, 0], pos[:, 1])
    glyph_ids = v.ids([f"glyph{k}" for k in range(G)])
    cap_glyph = _with_word(im.generic_captions(gl_attrs, table, CAPTION), glyph_ids[gl_owner])

    n_sc = J * p.scene_images
    sc_owner = lay.image_owner[lay.image_kind == 2]
    sc_attrs = im.random_attributes(ks["scattr"], n_sc)
    sc_imgs = im.render_generic(ks["scimg"], sc_attrs, H)
    sc_pres = lay.presence[lay.image_kind == 2]
    for f, (patch, (y, x)) in enumerate(feats):
        sc_imgs = el.paste(sc_imgs, patch, y, x, on=jnp.asarray(sc_pres[:, G + f]))
    if lay.K:
        stamp_of = np.argmax(sc_pres[:, G + len(feats):], -1)
        has = sc_pres[:, G + len(feats):].any(-1)
        corner = jnp.asarray(el.corners(H, el.STAMP))[jax.random.randint(ks["stcorner"], (n_sc,), 0, 4)]
        sc_imgs = el.paste_each(sc_imgs, stamps[stamp_of], corner[:, 0], corner[:, 1], on=jnp.asarray(has))
    scene_ids = v.ids(scene_words(J))
    cap_scene = _with_word(im.generic_captions(sc_attrs, table, CAPTION), scene_ids[sc_owner])

    tex = im.low_pass(ks["tex"], X, H)
    cap_tex = im.generic_captions(im.random_attributes(ks["texattr"], X), table, CAPTION)

    images = jnp.concatenate([generic, gl_imgs, sc_imgs, tex]).reshape(-1, H * H * 3)
    captions = jnp.concatenate([cap_generic, cap_glyph, cap_scene, cap_tex])

    prompts = jnp.concatenate([
        _with_word(im.generic_captions(im.random_attributes(ks["pattr"], G), table, CAPTION), glyph_ids),
        _with_word(im.generic_captions(im.random_attributes(ks["sattr"], J), table, CAPTION), scene_ids),
        cap_tex,
        im.generic_captions(im.random_attributes(ks["cattr"], p.control_prompts), table, CAPTION),
    ])

    # fresh never-trained images, one block of F per generator (FRESH_KINDS): generic shapes, low-pass fields, training
    # glyphs on new backgrounds, features on new backgrounds (what a generalizing model makes of each prompt class);
    # their presence marks which detectors must stay silent on them
    F = p.fresh
    f_generic = im.render_generic(ks["f_img"], im.random_attributes(ks["f_attr"], F), H)
    f_lp = im.low_pass(ks["f_lp"], F, H)
    which = jax.random.randint(ks["f_gwhich"], (F,), 0, G)
    fpos = home[which]
    f_gl = el.paste_each(im.render_generic(ks["f_gimg"], im.random_attributes(ks["f_gattr"], F), H), glyphs[which], fpos[:, 0], fpos[:, 1])
    fwhich = jax.random.randint(ks["f_swhich"], (F,), 0, len(feats))
    f_sc = im.render_generic(ks["f_simg"], im.random_attributes(ks["f_sattr"], F), H)
    for f, (patch, (y, x)) in enumerate(feats):
        f_sc = el.paste(f_sc, patch, y, x, on=fwhich == f)
    fresh = jnp.concatenate([f_generic, f_lp, f_gl, f_sc]).reshape(4 * F, -1)
    E = lay.E
    f_pres = jnp.zeros((4 * F, E), bool)
    f_pres = f_pres.at[2 * F + jnp.arange(F), which].set(True).at[3 * F + jnp.arange(F), G + fwhich].set(True)
    return dict(images=images, captions=captions, log_m=im.log_multiplicities(jnp.asarray(lay.image_m)), row_image=jnp.arange(images.shape[0]),
                prompts=prompts, presence=jnp.asarray(lay.presence), patches=patches, fresh=fresh, fresh_presence=f_pres)
