"""Training and measurement of the `t2i-taxonomy` study: the pure ``run(params, key) -> metrics``.

One config = one training set holding every element family (``data.py``), one diffusion model (the shared
``rote.sims.diffusion``: bag-of-words text encoder with a null embedding, FiLM MLP eps-denoiser, cosine
schedule) trained with adamw on rows drawn by multiplicity (optional mitigations: random word insertion,
text-embedding noise; Somepalli et al. arXiv 2305.20086, Sec. 5), EMA weights, DDIM with guidance w
(Ho & Salimans arXiv 2207.12598). Every prompt is sampled S times at every w of ``guidances``. Per sample:
  * ncc / det: the max normalised cross-correlation of every element pattern and whether it passes the element's
    threshold tau_e = max(nominal, 99th percentile over fresh images without the element) (``rote.sims.elements``);
  * cos / match / ratio / nn_image: the nearest training image by mean-centred pixel cosine, whether the cosine
    passes tau_img of that image's generator (the 99th percentile over fresh novel images of it: generic shapes,
    low-pass fields, training glyphs at their place or features on new backgrounds), the NN ratio ||g - NN1|| / ||g - NN2|| (Carlini et al.
    arXiv 2301.13188; Somepalli et al. arXiv 2212.03860);
  * assoc (prompt, element): max over the prompt's words w of P_train(e | w) from the training co-occurrence counts,
    the basis of the implicit set (Naseh et al. arXiv 2312.07550, operationalised in analysis.py);
  * anchors (T7): the closed-form ideal memorizer (``rote.theory.diffusion``) of three anchor prompts, sampled
    ``anchor_samples`` times through the same DDIM sampler and the same detectors.
The ME / MI / MU labelling of the events is numpy (analysis.py), so it is tested without training.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ....theory import diffusion as td
from ... import diffusion as dm
from ... import elements as el
from ... import images as im
from .data import CAPTION, FRESH_KINDS, FRESH_OF_KIND, INSERT_SLOTS, layout, make_data
from .model import build_model, param_count
from .params import TaxonomyParams

PERCENTILE = 99.0
GRID_SAMPLES = 4
T7_SLACK = 0.01  # DDIM discretisation allowance of member frequencies: the anchors integrate over all T steps, where the
# pilot seeds 10 and 11 measured a bias <= 0.0054 on 20,000 samples (0.026 and 0.041 with 20 steps; NOTES.md)
ANCHORS = ("glyph, largest n_ctx", "glyph, largest d (under-represented)", "texture, largest d")

METRIC_DIMS = {
    "ncc": ("w", "prompt", "sample", "element"), "det": ("w", "prompt", "sample", "element"),
    "cos": ("w", "prompt", "sample"), "match": ("w", "prompt", "sample"), "ratio": ("w", "prompt", "sample"),
    "nn_image": ("w", "prompt", "sample"), "assoc": ("prompt", "element"),
    "tau": ("element",), "fire": ("element",), "tau_img": ("fresh_kind",), "img_fire": ("fresh_kind",), "train_loss": (),
    "anchor_me": ("anchor",), "anchor_mu": ("anchor",), "anchor_dev": ("anchor",), "anchor_tol": ("anchor",),
    "grid_samples": ("w", "prompt", "gsample", "y", "x", "channel"), "grid_nearest": ("w", "prompt", "gsample", "y", "x", "channel"),
    "prompt_tokens": ("prompt", "token"),
}
DIVERGENCE_METRICS = ("train_loss",)


def nominal_taus(p: TaxonomyParams):
    """(E,) the nominal threshold of every element by family (glyph, feature, stamp)."""
    fam = layout(p).element_family
    return jnp.asarray([p.tau_glyph, p.tau_feature, p.tau_stamp])[fam]


def calibrate(p: TaxonomyParams, data):
    """(tau (E,), fire (E,), tau_img (4,), img_fire (4,)): element thresholds raised to the 99th percentile of fresh images
    without the element, the fraction of those that fire; tau_img per fresh generator (FRESH_KINDS) the 99th percentile of
    its fresh images' top-1 cosine to the training set, and the fraction above it."""
    H = p.image
    fresh = data["fresh"].reshape(-1, H, H, 3)
    s = el.ncc_scores(fresh, data["patches"])
    without = jnp.where(data["fresh_presence"], jnp.nan, s)
    tau = jnp.maximum(nominal_taus(p), jnp.nanpercentile(without, PERCENTILE, axis=0))
    fire = jnp.nanmean(jnp.where(data["fresh_presence"], jnp.nan, (s >= tau).astype(jnp.float32)), 0)
    top = jnp.max(im.centred_unit(data["fresh"]) @ im.centred_unit(data["images"]).T, -1).reshape(len(FRESH_KINDS), -1)
    tau_img = jnp.percentile(top, PERCENTILE, axis=1)
    return tau, fire, tau_img, jnp.mean(top > tau_img[:, None], 1)


def association(p: TaxonomyParams, data, V: int):
    """(P, E) max over each prompt's words w of P_train(e | w): co-occurrence of word and element over the distinct
    training images (duplicates counted once) divided by the word's count."""
    bag = jax.nn.one_hot(data["captions"], V).max(1).at[:, 0].set(0.0)  # (U, V), pad dropped
    pres = data["presence"].astype(jnp.float32)
    cond = (bag.T @ pres) / jnp.maximum(bag.sum(0), 1.0)[:, None]  # (V, E)
    pb = jax.nn.one_hot(data["prompts"], V).max(1).at[:, 0].set(0.0)  # (P, V)
    return jnp.max(jnp.where(pb[..., None] > 0, cond[None], 0.0), 1)


def match_threshold(p: TaxonomyParams, tau_img, idx):
    """tau_img (4,) per fresh generator -> the threshold for each sample's nearest training image idx (n,): a copy of a
    training image of kind k must come closer than the fresh images of k's generator do (FRESH_OF_KIND)."""
    kind = jnp.asarray(np.asarray(FRESH_OF_KIND)[layout(p).image_kind])
    return tau_img[kind[idx]]


def measure(p: TaxonomyParams, x, data, tau, tau_img):
    """Per sample of x (n, D): ncc (n, E), det (n, E), nearest index, cosine, match (cosine above the threshold of the
    nearest image's kind), NN ratio."""
    H = p.image
    ncc = el.ncc_scores(x.reshape(-1, H, H, 3), data["patches"])
    idx, cos, ratio = im.nearest(x, data["images"])
    return ncc, ncc >= tau, idx, cos, cos > match_threshold(p, tau_img, idx), ratio


def anchors(p: TaxonomyParams, data, abar, tau, tau_img, key):
    """T7: the ideal memorizer of three anchor prompts, each over the training images sharing its distinguishing word,
    sampled ``anchor_samples`` times with DDIM over all ``diffusion_steps`` timesteps (with ``ddim_steps`` = 20 the
    discretisation moves member frequencies by up to 0.04, NOTES.md). Returns (ME rate, image-match rate, max |member frequency - m_i / sum m|,
    its binomial tolerance), each (3,); ME is NaN for the texture (it names no element)."""
    lay = layout(p)
    D = p.image * p.image * 3
    g_big = int(np.argmax(lay.glyph_n * 1000 - lay.glyph_d))
    g_dup = int(np.argmax(lay.glyph_d * 1000 - lay.glyph_n))
    t_dup = int(np.argmax(lay.texture_d))
    out = []
    for a, (kind, owner, elem) in enumerate([(1, g_big, g_big), (1, g_dup, g_dup), (3, t_dup, -1)]):
        rows = lay.images_of(kind, owner)
        imgs = data["images"][rows]
        log_m = jnp.log(jnp.asarray(lay.image_m[rows]))
        fn = lambda x, t, imgs=imgs, log_m=log_m: (td.ideal_eps(x, abar[t], imgs, log_m), jnp.zeros(x.shape[:-1]))  # noqa: E731
        x, _ = dm.ddim_sample(fn, jax.random.normal(jax.random.fold_in(key, a), (p.anchor_samples, D)), abar, p.diffusion_steps)
        _, det, idx, _, match, _ = measure(p, x, data, tau, tau_img)
        me = jnp.mean(det[:, elem]) if elem >= 0 else jnp.nan
        law = td.sampling_law(lay.image_m[rows])
        freq = jnp.mean(idx[:, None] == jnp.asarray(rows)[None], 0)
        dev = jnp.max(jnp.abs(freq - law))
        tol = float(np.max(td.frequency_tolerance(law, p.anchor_samples, discretisation=T7_SLACK)))
        out.append((me, jnp.mean(match), dev, tol))
    return [jnp.asarray([o[i] for o in out], jnp.float32) for i in range(4)]


def run(p: TaxonomyParams, key) -> dict[str, jax.Array]:
    """Train one model on the seed's training set, sample every prompt at every guidance w, detect every element."""
    lay = layout(p)
    model = build_model(p)
    data = make_data(p, jax.random.fold_in(key, 0))
    abar = dm.cosine_schedule(p.diffusion_steps)
    k_init, k_train, k_sample, k_anchor = jax.random.split(jax.random.fold_in(key, 1), 4)
    variables = dm.init_params(model, k_init, CAPTION)
    opt = dm.optimizer(p.lr, p.steps, p.warmup)
    V = len(lay.vocab)
    augment = lambda k, cap: im.insert_random_words(k, cap, p.word_insert, V, INSERT_SLOTS)  # noqa: E731
    step = dm.make_train_step(model, abar, opt, data["images"], data["row_image"], data["captions"], data["log_m"], p.batch, k_train,
                              p.p_uncond, p.text_noise, p.ema, augment)
    carry = (variables, opt.init(variables), variables, jnp.int32(0))
    carry, losses = jax.lax.scan(step, carry, None, length=p.steps)
    ema = carry[2]
    tau, fire, tau_img, img_fire = calibrate(p, data)

    ws = np.asarray(p.sweep_guidances, np.float32)
    W, P, S, D, H = len(ws), lay.prompt_class.size, p.samples, p.image * p.image * 3, p.image
    c = model.apply(ema, data["prompts"], method=dm.T2IDenoiser.encode)
    null = model.apply(ema, method=dm.T2IDenoiser.null_embedding)
    cs = jnp.tile(jnp.repeat(c, S, 0), (W, 1))
    wb = jnp.asarray(np.repeat(ws, P * S))
    x, _ = dm.ddim_sample(dm.model_eps_fn(model, ema, cs, null, wb), jax.random.normal(k_sample, (W * P * S, D)), abar, p.ddim_steps)
    ncc, det, idx, cos, match, ratio = measure(p, x, data, tau, tau_img)
    shape = (W, P, S)
    a_me, a_mu, a_dev, a_tol = anchors(p, data, abar, tau, tau_img, k_anchor)
    keep = min(GRID_SAMPLES, S)
    xs = x.reshape(W, P, S, H, H, 3)[:, :, :keep]
    near = data["images"][idx.reshape(shape)[:, :, :keep]].reshape(W, P, keep, H, H, 3)
    f32 = lambda v: v.astype(jnp.float32)  # noqa: E731
    return {
        "ncc": ncc.reshape(*shape, -1), "det": f32(det).reshape(*shape, -1), "cos": cos.reshape(shape), "match": f32(match).reshape(shape),
        "ratio": ratio.reshape(shape), "nn_image": f32(idx).reshape(shape), "assoc": association(p, data, V),
        "tau": tau, "fire": fire, "tau_img": tau_img, "img_fire": img_fire, "train_loss": losses[-max(1, p.steps // 10):].mean(),
        "anchor_me": a_me, "anchor_mu": a_mu, "anchor_dev": a_dev, "anchor_tol": a_tol,
        "grid_samples": xs, "grid_nearest": near, "prompt_tokens": data["prompts"],
    }


def coords(p: TaxonomyParams) -> dict[str, np.ndarray]:
    lay = layout(p)
    return {"w": np.asarray(p.sweep_guidances), "prompt": np.arange(lay.prompt_class.size), "sample": np.arange(p.samples),
            "element": np.arange(lay.E), "fresh_kind": np.array(FRESH_KINDS), "anchor": np.arange(len(ANCHORS)), "gsample": np.arange(min(GRID_SAMPLES, p.samples)),
            "y": np.arange(p.image), "x": np.arange(p.image), "channel": np.arange(3), "token": np.arange(CAPTION)}


def bytes_per_config(p: TaxonomyParams) -> int:
    """Float32 bytes: parameters, adamw moments, EMA and gradients (5 P); the batch's activations (x 3 for backward);
    the sampling batch (all prompts x S x W) with its two denoiser passes and its nearest-image matrix; the anchors."""
    P = param_count(p)
    lay = layout(p)
    n = len(p.sweep_guidances) * lay.prompt_class.size * p.samples
    act = lambda rows: rows * (p.width * (2 + 3 * p.blocks) + p.hidden * 2 * p.blocks + 2 * p.image**2 * 3)  # noqa: E731
    U = lay.image_kind.size
    data = (U + 4 * p.fresh) * p.image**2 * 3 + (n + 4 * p.fresh + p.anchor_samples) * U * 2 + n * lay.E * 2
    return int(4 * (5 * P + 3 * act(p.batch) + 2 * act(2 * n) + data))


def flops_per_config(p: TaxonomyParams) -> float:
    """6 P per trained row, 2 P per sampled denoiser evaluation (two per DDIM step: conditional and null)."""
    P = param_count(p)
    n = len(p.sweep_guidances) * layout(p).prompt_class.size * p.samples
    return 6.0 * P * p.batch * p.steps + 2.0 * P * 2 * p.ddim_steps * n


__all__ = ["run", "coords", "METRIC_DIMS"]
