"""The training set and the prompts of the `t2i-duplication` study (one training set per seed holds E1-E5).

Experiments inside one training set (Naseh et al. arXiv 2312.03692, types A and B; Somepalli et al. arXiv
2305.20086, image vs image + caption duplication; Webster arXiv 2305.08694, template verbatims), with
targets = unique low-pass fields, ``per_level`` per duplication level d and experiment:
  E1  image + caption duplicated: one row "photo of item qa{k}" with multiplicity d;
  E2  image only: d rows, each with a fresh random generic caption;
  E3  trigger word (type A): d rows, each a fresh generic caption plus the token "zk{k}";
  E4  shared template (type B): M different images (frame + logo + own texture) captioned
      "poster of brand vx{g} s{j}" with a distinct slot word s{j} each, every member 4 times; prompts use unseen
      slot words;
  E5  one image, many captions sharing a word: d rows "vq{k}" plus 0-3 words of a small shared set.
Generic rows (shapes, each once) fill the rest. Row and prompt layouts are static (numpy); images and
captions are drawn in JAX from the seed's key, so every mitigation or guidance of a seed sees the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ... import images as im
from .params import T2IParams

CAPTION = 12  # caption length: up to 9 words, then INSERT_SLOTS reserved for random word insertion
INSERT_SLOTS = (10, 11)
SHARED_WORDS = ("image", "picture", "print", "view", "art", "scene")
NEVER_TRAINED = 2  # trigger ids "zk{T}", "zk{T+1}" that appear in no training caption
EXPERIMENTS = ("generic", "E1", "E2", "E3", "E4", "E5")
# prompt kinds, in the order of the prompt list
KINDS = ("E1", "E2", "E3_alone", "E3_caption", "E4", "E5", "generic", "untrained")
TEST_SLOTS = 2  # unseen slot words per template group (one prompt each)


@dataclass(frozen=True)
class Layout:
    """Static sizes and index arrays of one parameter set.

    T targets per experiment with levels ``target_d`` (T,); groups G with sizes ``group_m`` (G,); unique images
    U (generic, E1, E2, E3, E5 targets, E4 members) with ``image_kind`` (U,) in EXPERIMENTS indices; rows R
    with ``row_image`` (R,); prompts P with ``prompt_kind`` (P,) (KINDS index), ``prompt_target`` (P,) (the
    unique image a prompt should replicate, -1 none), ``prompt_group`` (P,) (E4 group, -1 none), ``prompt_d``
    (P,) (duplication level d or group size M, 0 none).
    """

    vocab: im.Vocabulary
    target_d: np.ndarray
    group_m: np.ndarray
    image_kind: np.ndarray
    row_image: np.ndarray
    row_m: np.ndarray
    prompt_kind: np.ndarray
    prompt_target: np.ndarray
    prompt_group: np.ndarray
    prompt_d: np.ndarray

    @property
    def T(self) -> int:
        return len(self.target_d)

    @property
    def G(self) -> int:
        return len(self.group_m)

    def prompts_of(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.prompt_kind == KINDS.index(kind))


def vocabulary(p: T2IParams) -> im.Vocabulary:
    T = len(p.dup_levels) * p.per_level
    G, Mmax = len(p.template_levels), max(p.template_levels)
    return im.Vocabulary.of(im.GENERIC_WORDS, ("photo", "of", "item", "poster", "brand"), SHARED_WORDS,
                            [f"s{j}" for j in range(Mmax + TEST_SLOTS)], [f"qa{k}" for k in range(T)],
                            [f"zk{k}" for k in range(T + NEVER_TRAINED)], [f"vq{k}" for k in range(T)], [f"vx{g}" for g in range(G)])


def layout(p: T2IParams) -> Layout:
    d = np.repeat(np.asarray(p.dup_levels, np.int64), p.per_level)
    m = np.asarray(p.template_levels, np.int64)
    T, N, D = len(d), p.generic, int(d.sum())
    kind = np.concatenate([np.zeros(N), np.full(T, 1), np.full(T, 2), np.full(T, 3), np.full(T, 5), np.full(m.sum(), 4)]).astype(np.int32)
    first = {e: N + i * T for i, e in enumerate(("E1", "E2", "E3", "E5"))}
    members = N + 4 * T
    per_target = np.repeat(np.arange(T), d)  # rows of E2, E3, E5 (target-major)
    row_image = np.concatenate([np.arange(N), first["E1"] + np.arange(T), first["E2"] + per_target, first["E3"] + per_target,
                                members + np.arange(m.sum()), first["E5"] + per_target])
    row_m = np.concatenate([np.ones(N), d, np.ones(D), np.ones(D), np.full(m.sum(), p.template_copies), np.ones(D)])
    G, Gp = len(m), p.generic_prompts
    k = np.arange(T)
    kinds = [("E1", first["E1"] + k, -1, d), ("E2", first["E2"] + k, -1, d), ("E3_alone", first["E3"] + k, -1, d),
             ("E3_caption", first["E3"] + k, -1, d),
             ("E4", np.full(G * TEST_SLOTS, -1), np.repeat(np.arange(G), TEST_SLOTS), np.repeat(m, TEST_SLOTS)),
             ("E5", first["E5"] + k, -1, d), ("generic", np.full(Gp, -1), -1, 0), ("untrained", np.full(NEVER_TRAINED, -1), -1, 0)]
    pk, pt, pg, pd = [], [], [], []
    for name, target, group, level in kinds:
        n = len(target)
        pk.append(np.full(n, KINDS.index(name)))
        pt.append(target)
        pg.append(np.broadcast_to(group, (n,)))
        pd.append(np.broadcast_to(level, (n,)))
    cat = lambda xs: np.concatenate(xs).astype(np.int32)  # noqa: E731
    return Layout(vocabulary(p), d.astype(np.int32), m.astype(np.int32), kind, row_image.astype(np.int32), row_m.astype(np.float32),
                  cat(pk), cat(pt), cat(pg), cat(pd))


def _fixed(words_rows, L=CAPTION) -> np.ndarray:
    """(n, L) int32 token rows from lists of ids, padded."""
    out = np.zeros((len(words_rows), L), np.int32)
    for i, ids in enumerate(words_rows):
        out[i, : len(ids)] = ids
    return out


def make_data(p: T2IParams, key) -> dict:
    """Every array of one seed: images (U, D) flattened, row captions (R, L), log multiplicities (R,), prompt
    captions (P, L), generic prompt attributes (Gp, 6), templates (G, H, W, 3) and the calibration images."""
    lay = layout(p)
    v, T, G, N, H = lay.vocab, lay.T, lay.G, p.generic, p.image
    table = im.generic_table(v)
    ks = dict(zip(("gattr", "gimg", "targets", "templ", "members", "cap2", "cap3", "slots", "e5n", "e5w", "pgen", "p3", "p5",
                   "fresh_g", "fresh_gimg", "fresh_lp", "fresh_t", "fresh_tm"), jax.random.split(key, 18)))
    attrs = im.random_attributes(ks["gattr"], N)
    generic_imgs = im.render_generic(ks["gimg"], attrs, H)
    targets = im.low_pass(ks["targets"], 4 * T, H)  # E1, E2, E3, E5
    tmpl = im.templates(ks["templ"], G, H)
    member_group = np.repeat(np.arange(G), lay.group_m)
    members = im.template_images(ks["members"], tmpl[member_group], int(lay.group_m.sum()), H) if G else jnp.zeros((0, H, H, 3))
    images = jnp.concatenate([generic_imgs, targets, members]).reshape(-1, H * H * 3)

    D = int(lay.target_d.sum())
    per_target = np.repeat(np.arange(T), lay.target_d)
    cap_generic = im.generic_captions(attrs, table, CAPTION)
    cap_e1 = jnp.asarray(_fixed([list(v.ids(("photo", "of", "item", f"qa{k}"))) for k in range(T)]))
    cap_e2 = im.generic_captions(im.random_attributes(ks["cap2"], D), table, CAPTION)
    zk = jnp.asarray(v.ids([f"zk{k}" for k in range(T + NEVER_TRAINED)]))
    cap_e3 = im.generic_captions(im.random_attributes(ks["cap3"], D), table, CAPTION).at[:, im.GENERIC_LENGTH].set(zk[per_target])
    slot_ids = v.ids([f"s{j}" for j in range(max(lay.group_m) + TEST_SLOTS)])
    Mmax = int(max(lay.group_m))
    slots = jnp.concatenate([jax.random.permutation(jax.random.fold_in(ks["slots"], g), Mmax)[:mg] for g, mg in enumerate(lay.group_m)])
    head = v.ids(("poster", "of", "brand"))
    vx = v.ids([f"vx{g}" for g in range(G)])
    cap_e4 = jnp.asarray(_fixed([[*head, vx[g]] for g in member_group])).at[:, 4].set(jnp.asarray(slot_ids)[slots])
    shared = jnp.asarray(v.ids(SHARED_WORDS))
    vq = jnp.asarray(v.ids([f"vq{k}" for k in range(T)]))
    n_extra = jax.random.randint(ks["e5n"], (D,), 0, 4)
    extra = shared[jax.random.randint(ks["e5w"], (D, 3), 0, len(SHARED_WORDS))]
    extra = jnp.where(jnp.arange(3)[None] < n_extra[:, None], extra, 0)
    cap_e5 = jnp.zeros((D, CAPTION), jnp.int32).at[:, 0].set(vq[per_target]).at[:, 1:4].set(extra)
    captions = jnp.concatenate([cap_generic, cap_e1, cap_e2, cap_e3, cap_e4, cap_e5])

    # prompts, in the order of layout().prompt_kind
    e2_first = np.concatenate([[0], np.cumsum(lay.target_d)[:-1]])
    gen_attrs = im.random_attributes(ks["pgen"], p.generic_prompts)
    p3 = im.generic_captions(im.random_attributes(ks["p3"], T + 1), table, CAPTION)
    p_e4 = jnp.asarray(_fixed([[*head, vx[g], slot_ids[max(lay.group_m) + j]] for g in range(G) for j in range(TEST_SLOTS)]))
    pair = shared[jax.random.randint(ks["p5"], (T, 2), 0, len(SHARED_WORDS))]
    prompts = jnp.concatenate([
        cap_e1,
        cap_e2[e2_first],
        jnp.zeros((T, CAPTION), jnp.int32).at[:, 0].set(zk[:T]),
        p3[:T].at[:, im.GENERIC_LENGTH].set(zk[:T]),
        p_e4,
        jnp.zeros((T, CAPTION), jnp.int32).at[:, 0].set(vq).at[:, 1:3].set(pair),
        im.generic_captions(gen_attrs, table, CAPTION),
        jnp.concatenate([jnp.zeros((1, CAPTION), jnp.int32).at[0, 0].set(zk[T]), p3[T:].at[:, im.GENERIC_LENGTH].set(zk[T + 1])]),
    ])
    F = p.fresh
    fresh_generic = im.render_generic(ks["fresh_gimg"], im.random_attributes(ks["fresh_g"], F), H).reshape(F, -1)
    fresh_lowpass = im.low_pass(ks["fresh_lp"], F, H).reshape(F, -1)
    fresh_groups = jax.random.randint(ks["fresh_t"], (F,), 0, max(G, 1))
    fresh_members = im.template_images(ks["fresh_tm"], tmpl[fresh_groups], F, H).reshape(F, -1)  # same templates, new textures
    return dict(images=images, captions=captions, log_m=im.log_multiplicities(jnp.asarray(lay.row_m)), row_image=jnp.asarray(lay.row_image),
                prompts=prompts, generic_attrs=gen_attrs, templates=tmpl, fresh_generic=fresh_generic, fresh_lowpass=fresh_lowpass,
                fresh_members=fresh_members)
