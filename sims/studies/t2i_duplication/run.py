"""Training and evaluation of the `t2i-duplication` study: the pure ``run(params, key) -> metrics``.

One config = one training set holding E1-E5 (``data.py``), one diffusion model (``rote.sims.diffusion``:
bag-of-words text encoder with a null embedding, FiLM MLP eps-denoiser, cosine schedule) trained with adamw
on rows drawn by multiplicity, optional mitigations in training (random word insertion, text-embedding
noise; Somepalli et al. arXiv 2305.20086, Sec. 5), EMA weights for sampling, DDIM with guidance w.
Measured on every prompt (S samples each), following Somepalli et al. arXiv 2212.03860 (top-1 similarity
against the training set) and Carlini et al. arXiv 2301.13188 (replication of a specific training image):
  * tau: the 99th percentile, over fresh never-trained low-pass fields (the targets' generator), of their
    largest mean-centred pixel cosine to the training images (reported, with the same for generic shapes);
  * rr: fraction of samples whose nearest training image is the prompt's target with cosine > tau;
  * leak: fraction whose nearest training image is any non-generic one (target or template member) > tau;
  * nn: fraction whose nearest image is the target with NN ratio ||g - NN1|| / ||g - NN2|| < 1/3;
  * template (E4): masked cosine on the frame + logo region to the group's template > tau_frame (its 99th
    percentile over fresh non-template images); member: nearest image a member of the group with cosine >
    tau_member (the 99th percentile over fresh members of the same groups with new inner textures);
  * magnitude: the Wen et al. detector (arXiv 2407.21720, Sec. 3), ||eps(x_t, c) - eps(x_t, null)|| averaged
    over the first ``detect_steps`` DDIM steps and the S samples;
  * blame (E3 prompts inside a generic caption): gradient x input |<d magnitude(first step) / d e_i, e_i>| per
    token embedding e_i; blame_rank = the trigger token's rank among the prompt's tokens (1 = most blamed);
  * accuracy (generic prompts): the rule-based attribute reader's score (``rote.sims.images``);
  * rr_guidance: rr of the E1 and E3-alone prompts at each w of ``guidance_sweep``; rr_steps: rr of the E1
    prompts along training (every ``log_every`` steps).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import diffusion as dm
from ... import images as im
from .data import CAPTION, INSERT_SLOTS, KINDS, layout, make_data
from .model import build_model, param_count
from .params import T2IParams

PERCENTILE = 99.0  # tau = this percentile of fresh never-trained images' top-1 similarity
NN_RATIO = 1.0 / 3.0
GRID_SAMPLES = 4  # samples per prompt kept for the sample-grid figures

METRIC_DIMS = {
    "rr": ("prompt",), "leak": ("prompt",), "nn": ("prompt",), "template": ("prompt",), "member": ("prompt",),
    "similarity": ("prompt",), "magnitude": ("prompt",), "accuracy": ("generic_prompt",),
    "blame": ("target", "token"), "blame_rank": ("target",),
    "rr_guidance": ("w", "gprompt"), "rr_steps": ("step", "target"),
    "tau": (), "tau_generic": (), "tau_member": (), "tau_frame": (), "fresh_exceed": (), "train_loss": ("step",),
    "grid_samples": ("prompt", "sample", "y", "x", "channel"), "grid_nearest": ("prompt", "y", "x", "channel"),
    "prompt_tokens": ("prompt", "token"),
}
DIVERGENCE_METRICS = ("train_loss", "magnitude")


def top1(x, train):
    """Largest mean-centred cosine of x (n, D) to the training images (N, D): (n,)."""
    return jnp.max(im.centred_unit(x) @ im.centred_unit(train).T, -1)


def masked_top1(x, tmpl, H):
    """Largest masked cosine on the template region of x (n, D) to the templates (G, H, W, 3): (n, G)."""
    mask = im.template_mask(H)
    return im.centred_unit(x.reshape(-1, H, H, 3), mask) @ im.centred_unit(tmpl, mask).T


def calibrate(p: T2IParams, data):
    """(tau, tau_generic, tau_member, tau_frame, fraction of fresh low-pass fields above tau): 99th percentiles of the
    top-1 cosine to the training set of fresh low-pass fields (the targets' generator), of fresh generic shapes
    (reported), of fresh members of the template groups (new inner textures: what a generalizing model makes
    of a template prompt), and of the masked template cosine of fresh non-template images."""
    q = PERCENTILE
    s_lp = top1(data["fresh_lowpass"], data["images"])
    tau = jnp.percentile(s_lp, q)
    tau_generic = jnp.percentile(top1(data["fresh_generic"], data["images"]), q)
    tau_member = jnp.percentile(top1(data["fresh_members"], data["images"]), q)
    others = jnp.concatenate([data["fresh_generic"], data["fresh_lowpass"]])
    tau_frame = jnp.percentile(masked_top1(others, data["templates"], p.image).max(-1), q)
    return tau, tau_generic, tau_member, tau_frame, jnp.mean(s_lp > tau)


def sampler(p: T2IParams, model, abar):
    """sample(variables, captions (P, L), w (scalar or (P,)), key) -> (x (P, S, D), magnitude (P,) averaged over the
    first detect_steps and the samples)."""
    D = p.image * p.image * 3

    def sample(variables, captions, w, key):
        P = captions.shape[0]
        c = model.apply(variables, captions, method=dm.T2IDenoiser.encode)
        null = model.apply(variables, method=dm.T2IDenoiser.null_embedding)
        cs = jnp.repeat(c, p.samples, 0)
        wb = jnp.repeat(jnp.broadcast_to(jnp.asarray(w, jnp.float32), (P,)), p.samples)
        x_T = jax.random.normal(key, (P * p.samples, D))
        x, mags = dm.ddim_sample(dm.model_eps_fn(model, variables, cs, null, wb), x_T, abar, p.ddim_steps, record=p.detect_steps)
        return x.reshape(P, p.samples, D), mags.mean(0).reshape(P, p.samples).mean(-1)

    return sample


def score(x, target, data, tau):
    """Per-prompt rr, leak and nn of samples x (P, S, D) against the training images; target (P,) (-1 none)."""
    P, S, D = x.shape
    idx, cos, ratio = im.nearest(x.reshape(P * S, D), data["images"])
    idx, cos, ratio = idx.reshape(P, S), cos.reshape(P, S), ratio.reshape(P, S)
    hit = (idx == target[:, None]) & (target[:, None] >= 0)
    rr = jnp.mean(hit & (cos > tau), -1)
    nn = jnp.mean(hit & (ratio < NN_RATIO), -1)
    return rr, nn, idx, cos


def blame(p: T2IParams, model, variables, captions, key, abar):
    """Per-token blame (P, L): |<grad_e_i magnitude, e_i>|, gradient x input of the first-step magnitude (averaged
    over S starting noises) w.r.t. each token embedding e_i. Under mean pooling the gradient itself is the same
    for every token (d mean / d e_i = I / n), so its norm cannot rank tokens; gradient x input is each token's
    first-order share of the magnitude, additive over the bag of words (Wen et al. arXiv 2407.21720, Sec. 4.2,
    take the gradient's norm in a transformer encoder, where tokens differ)."""
    D = p.image * p.image * 3
    t0 = int(dm.ddim_timesteps(p.diffusion_steps, p.ddim_steps)[0])
    null = model.apply(variables, method=dm.T2IDenoiser.null_embedding)
    x_T = jax.random.normal(key, (p.samples, D))

    def magnitude(emb, mask):
        c = model.apply(variables, emb, mask, method=dm.T2IDenoiser.pool)
        cs = jnp.broadcast_to(c, (p.samples, c.shape[-1]))
        t = jnp.full((p.samples,), t0)
        e_c = model.apply(variables, x_T, t, cs, method=dm.T2IDenoiser.eps)
        e_n = model.apply(variables, x_T, t, jnp.broadcast_to(null, cs.shape), method=dm.T2IDenoiser.eps)
        return jnp.linalg.norm(e_c - e_n, axis=-1).mean()

    def one(tokens):
        emb = model.apply(variables, tokens, method=dm.T2IDenoiser.embed_tokens)
        g = jax.grad(magnitude)(emb, tokens != dm.PAD)
        return jnp.where(tokens != dm.PAD, jnp.abs(jnp.sum(g * emb, -1)), 0.0)

    return jax.vmap(one)(captions)


def run(p: T2IParams, key) -> dict[str, jax.Array]:
    """Train one model on the seed's training set and measure every prompt (see METRIC_DIMS)."""
    lay = layout(p)
    model = build_model(p)
    data = make_data(p, jax.random.fold_in(key, 0))
    abar = dm.cosine_schedule(p.diffusion_steps)
    k_init, k_train, k_sample, k_steps, k_blame = jax.random.split(jax.random.fold_in(key, 1), 5)
    variables = dm.init_params(model, k_init, CAPTION)
    opt = dm.optimizer(p.lr, p.steps, p.warmup)
    augment = lambda k, cap: im.insert_random_words(k, cap, p.word_insert, len(lay.vocab), INSERT_SLOTS)  # noqa: E731
    step = dm.make_train_step(model, abar, opt, data["images"], data["row_image"], data["captions"], data["log_m"], p.batch, k_train,
                              p.p_uncond, p.text_noise, p.ema, augment)
    sample = sampler(p, model, abar)
    tau, tau_generic, tau_member, tau_frame, exceed = calibrate(p, data)
    target = jnp.asarray(lay.prompt_target)
    e1 = lay.prompts_of("E1")

    def block(carry, i):
        carry, losses = jax.lax.scan(step, carry, None, length=p.log_every)
        x, _ = sample(carry[2], data["prompts"][e1], p.guidance, jax.random.fold_in(k_steps, i))
        rr, _, _, _ = score(x, target[e1], data, tau)
        return carry, (losses.mean(), rr)

    carry = (variables, opt.init(variables), variables, jnp.int32(0))
    carry, (train_loss, rr_steps) = jax.lax.scan(block, carry, jnp.arange(p.steps // p.log_every))
    ema = carry[2]

    # one sampling call: every prompt at the main guidance, then the E1 and E3-alone prompts at each w of the sweep
    gsel = np.concatenate([e1, lay.prompts_of("E3_alone")])
    ws = np.asarray(p.sweep_guidances, np.float32)
    n_p = len(lay.prompt_kind)
    w_all = jnp.concatenate([jnp.full((n_p,), p.guidance, jnp.float32), jnp.asarray(np.repeat(ws, len(gsel)))])
    x_all, mag_all = sample(ema, jnp.concatenate([data["prompts"], jnp.tile(data["prompts"][gsel], (len(ws), 1))]), w_all, k_sample)
    x, magnitude = x_all[:n_p], mag_all[:n_p]
    rr_guidance = score(x_all[n_p:], jnp.tile(target[gsel], len(ws)), data, tau)[0].reshape(len(ws), len(gsel))
    rr, nn, idx, cos = score(x, target, data, tau)
    kind = jnp.asarray(lay.image_kind)
    leak = jnp.mean((kind[idx] != 0) & (cos > tau), -1)
    H = p.image
    P, S = x.shape[:2]
    group = jnp.asarray(lay.prompt_group)
    mcos = masked_top1(x.reshape(P * S, -1), data["templates"], H).reshape(P, S, -1)
    own = jnp.take_along_axis(mcos, jnp.maximum(group, 0)[:, None, None], -1)[..., 0]
    template = jnp.where(group >= 0, jnp.mean(own > tau_frame, -1), 0.0)
    member_of = jnp.asarray(np.concatenate([np.full(lay.image_kind.size - lay.group_m.sum(), -1),
                                            np.repeat(np.arange(lay.G), lay.group_m)]).astype(np.int32))
    member = jnp.where(group >= 0, jnp.mean((member_of[idx] == group[:, None]) & (cos > tau_member), -1), 0.0)
    gp = lay.prompts_of("generic")
    accuracy = im.attribute_accuracy(x[gp].reshape(-1, H, H, 3), jnp.repeat(data["generic_attrs"], S, 0)).reshape(len(gp), S).mean(-1)

    e3c = lay.prompts_of("E3_caption")
    b = blame(p, model, ema, data["prompts"][e3c], k_blame, abar)
    trig = b[:, 8]
    blame_rank = 1 + jnp.sum(b > trig[:, None], -1)

    keep = min(GRID_SAMPLES, S)
    return {
        "rr": rr, "leak": leak, "nn": nn, "template": template, "member": member, "similarity": cos.mean(-1), "magnitude": magnitude,
        "accuracy": accuracy, "blame": b, "blame_rank": blame_rank.astype(jnp.float32), "rr_guidance": rr_guidance, "rr_steps": rr_steps,
        "tau": tau, "tau_generic": tau_generic, "tau_member": tau_member, "tau_frame": tau_frame, "fresh_exceed": exceed, "train_loss": train_loss,
        "grid_samples": x[:, :keep].reshape(P, keep, H, H, 3), "grid_nearest": data["images"][idx[:, 0]].reshape(P, H, H, 3),
        "prompt_tokens": data["prompts"],
    }


def coords(p: T2IParams) -> dict[str, np.ndarray]:
    lay = layout(p)
    g = np.concatenate([lay.prompts_of("E1"), lay.prompts_of("E3_alone")])
    return {"prompt": np.arange(len(lay.prompt_kind)), "generic_prompt": np.arange(p.generic_prompts), "target": np.arange(lay.T),
            "token": np.arange(CAPTION), "w": np.asarray(p.sweep_guidances), "gprompt": g,
            "step": np.arange(p.log_every, p.steps + 1, p.log_every), "sample": np.arange(min(GRID_SAMPLES, p.samples)),
            "y": np.arange(p.image), "x": np.arange(p.image), "channel": np.arange(3)}


def bytes_per_config(p: T2IParams) -> int:
    """Float32 bytes of one config: parameters, adamw moments, EMA and gradients (5 P); the training batch's
    activations (x 3 for backward); the sampling batch (all prompts x S) with its two denoiser passes."""
    P = param_count(p)
    lay = layout(p)
    n_samples = len(lay.prompt_kind) * p.samples
    act = lambda rows: rows * (p.width * (2 + 3 * p.blocks) + p.hidden * 2 * p.blocks + 2 * p.image**2 * 3)  # noqa: E731
    data = (lay.image_kind.size + 3 * p.fresh) * p.image**2 * 3 + n_samples * lay.image_kind.size * 2
    return int(4 * (5 * P + 3 * act(p.batch) + 2 * act(2 * n_samples) + data))


def flops_per_config(p: T2IParams) -> float:
    """6 P per trained row, 2 P per sampled denoiser evaluation (two per DDIM step: conditional and null)."""
    P = param_count(p)
    lay = layout(p)
    n_eval = (len(lay.prompt_kind) + len(p.sweep_guidances) * 2 * lay.T + (p.steps // p.log_every) * lay.T) * p.samples
    return 6.0 * P * p.batch * p.steps + 2.0 * P * 2 * p.ddim_steps * n_eval


__all__ = ["run", "coords", "METRIC_DIMS", "KINDS"]
