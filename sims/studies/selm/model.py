"""The model of the `selm` study: a frozen public LM, its keyed Fastfood subspace, messages, decryption.

SELM (Stevens and Su, arXiv 2305.10445, Sec. 3): theta = theta_0 + P_k(theta_d), with theta_0 the public
model (here the shared ``rote.sims.lm.TinyLM``, pretrained on Markov text and cached by
``rote.sims.public_lm``, or randomly initialised) and P_k the normalised Fastfood projection of the
whole flattened parameter vector (``rote.sims.fastfood``; the paper projects tensor by tensor) whose
matrices B, Pi, G come from the integer key k. Text = fixed prompt + message + EOS; decryption greedily
decodes after the prompt and cuts at EOS.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ... import fastfood, lm, public_lm, text
from .params import SelmParams, param_count, parse_message


def build_model(p: SelmParams) -> lm.TinyLM:
    """The public LM: vocabulary = message tokens + EOS (token ``p.vocab``)."""
    return lm.TinyLM(vocab=p.vocab + 1, context=p.context, width=p.width, layers=p.layers, heads=p.heads,
                     mlp_ratio=p.mlp_ratio)


def eos(p: SelmParams) -> int:
    return p.vocab


def public_chain(p: SelmParams):
    return text.markov_chain(jax.random.PRNGKey(p.chain_seed), p.vocab, p.successors)


def public_weights(p: SelmParams, log=None) -> tuple[np.ndarray, np.ndarray]:
    """(pretrained, random-init) flat parameter vectors theta_0 of the public model (numpy, (D,)).

    The pretrained one is read from the cache or trained now (``rote.sims.public_lm``); safe to call
    while a run is traced (the vectors become constants)."""
    model = build_model(p)
    with jax.ensure_compile_time_eval():
        chain = public_chain(p)
        pre = public_lm.pretrained(model, chain, p.pretrain_steps, p.pretrain_batch, p.pretrain_lr, p.public_seed, log)
        rand = lm.init_params(model, jax.random.PRNGKey(p.public_seed))
        return (np.asarray(ravel_pytree(pre)[0]), np.asarray(ravel_pytree(jax.tree_util.tree_map(np.asarray, rand))[0]))


def unravel_fn(p: SelmParams):
    """flat (D,) -> the model's parameter pytree."""
    model = build_model(p)
    shapes = jax.eval_shape(lambda: lm.init_params(model, jax.random.PRNGKey(0)))
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes))
    return unravel


def prompt_tokens(p: SelmParams):
    """The fixed prompt (the paper's hard-coded UUID): ``prompt`` tokens drawn once from a fixed key."""
    return jax.random.randint(jax.random.PRNGKey(20230517), (p.prompt,), 0, p.vocab, jnp.int32)


def message_tokens(p: SelmParams, kind, message_seed, length):
    """(room,) int32 message (room = context - prompt - 1; entries past ``length`` are unused) of the
    given kind: 0 public-chain Markov, 1 other-chain Markov, 2 public-chain text through a fixed shuffle of
    the vocabulary, 3 uniform. Explicit ``p.message`` tokens override. ``kind``, ``message_seed`` and
    ``length`` may be traced."""
    room = p.context - p.prompt - 1
    if p.message:
        toks = jnp.asarray(parse_message(p.message, p.vocab), jnp.int32)
        return jnp.zeros(room, jnp.int32).at[: toks.shape[0]].set(toks)
    key = jax.random.fold_in(jax.random.PRNGKey(p.chain_seed + 7919), message_seed)
    k_m, k_o, k_u = jax.random.split(key, 3)
    markov = text.sample_sequences(k_m, public_chain(p), 1, room)[0]
    other_chain = text.markov_chain(jax.random.PRNGKey(p.other_chain_seed), p.vocab, p.successors)
    other = text.sample_sequences(k_o, other_chain, 1, room)[0]
    shuffle = jax.random.permutation(jax.random.PRNGKey(p.chain_seed + 104729), p.vocab).astype(jnp.int32)
    uniform = jax.random.randint(k_u, (room,), 0, p.vocab, jnp.int32)
    return jnp.stack([markov, other, shuffle[markov], uniform])[kind]


def sequence(p: SelmParams, message, length):
    """(context,) int32: prompt, the first ``length`` message tokens, EOS, then EOS padding; and the
    (context,) bool mask of the scored targets (the message and its EOS)."""
    pos = jnp.arange(p.context)
    body = jnp.concatenate([prompt_tokens(p), message, jnp.full(1, eos(p), jnp.int32)])
    toks = jnp.where(pos < p.prompt + length, body, eos(p)).astype(jnp.int32)
    target = (pos >= p.prompt) & (pos <= p.prompt + length)
    return toks, target


def projection_key(key, p: SelmParams) -> fastfood.FastfoodKey:
    """The Fastfood matrices of the key (a ``jax.random`` key of the integer k)."""
    return fastfood.draw_key(jax.random.fold_in(key, 0), param_count(p))


def wrong_key(key, p: SelmParams) -> fastfood.FastfoodKey:
    """A key other than k (the adversary's guess in the key-sensitivity check)."""
    return fastfood.draw_key(jax.random.fold_in(key, 1), param_count(p))


def weights(p: SelmParams, theta0, ff, theta_d, d):
    """theta_0 + P_k(theta_d[:d]) as the model's pytree; theta_d (d_max,), entries past d ignored."""
    x = jnp.where(jnp.arange(theta_d.shape[0]) < d, theta_d, 0.0)
    return unravel_fn(p)(theta0 + fastfood.project(ff, x, param_count(p)))


def greedy_decode(p: SelmParams, w):
    """(context,) tokens: the prompt, then greedy argmax continuation to the end of the context."""
    model = build_model(p)
    toks0 = jnp.zeros(p.context, jnp.int32).at[: p.prompt].set(prompt_tokens(p))

    def step(t, toks):
        logits = model.apply(w, toks[None])[0]  # causal: row t - 1 sees tokens < t only
        return toks.at[t].set(jnp.argmax(logits[t - 1]).astype(jnp.int32))

    return jax.lax.fori_loop(p.prompt, p.context, step, toks0)


def decrypt(p: SelmParams, theta0, theta_d, d, key) -> jax.Array:
    """Greedy decode of theta_0 + P_k(theta_d) under ``key``: (context,) tokens (prompt included)."""
    return greedy_decode(p, weights(p, theta0, projection_key(key, p), theta_d, d))


def cut_at_eos(p: SelmParams, decoded) -> list[int]:
    """The decrypted message (host): decoded tokens after the prompt up to the first EOS."""
    out = []
    for t in np.asarray(decoded)[p.prompt :]:
        if int(t) == eos(p):
            break
        out.append(int(t))
    return out
