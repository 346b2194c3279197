"""A public pretrained tiny LM, trained once per configuration and cached on disk.

Studies that adapt a frozen "public" model (SELM: Stevens and Su, arXiv 2305.10445, Sec. 3, whose public
model is GPT-2) need the same pretrained weights in every config of a sweep. ``pretrained`` trains the
shared ``rote.sims.lm.TinyLM`` with Adam on fresh batches of Markov text (``rote.sims.text``) and caches
the flat float32 parameter vector in ``$ROTE_CACHE/public_lm/<sha256>.npz`` (default
``~/.cache/rote``). The file name is the SHA-256 of everything that determines the weights (the model's
fields, the chain's bytes, steps, batch, learning rate, seed, and the JAX version, since another version
may round differently), so a changed configuration never reads a stale file. It is written atomically
(``rote.sims.atomic``), so a killed run leaves either no file or a complete one; an unreadable file is
retrained and replaced. Loading gives the bits a fresh training gives on this machine.

``pretrained`` may be called while a study's ``run`` is being traced: it computes eagerly
(``jax.ensure_compile_time_eval``) and returns numpy arrays, which enter the traced run as constants.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from rote.sims import lm, text
from rote.sims.atomic import atomic_write
from rote.sims.errors import RoteError


def cache_dir() -> Path:
    """``$ROTE_CACHE/public_lm`` (default ``~/.cache/rote/public_lm``)."""
    return Path(os.environ.get("ROTE_CACHE", Path.home() / ".cache" / "rote")) / "public_lm"


def cache_key(model: lm.TinyLM, chain, steps: int, batch: int, lr: float, seed: int) -> str:
    """SHA-256 (hex) of everything the pretrained weights depend on."""
    spec = {"model": {f: getattr(model, f) for f in ("vocab", "context", "width", "layers", "heads", "mlp_ratio")},
            "chain": hashlib.sha256(np.asarray(chain, np.float32).tobytes()).hexdigest(), "steps": int(steps),
            "batch": int(batch), "lr": float(lr), "seed": int(seed), "jax": jax.__version__, "format": 2}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


@partial(jax.jit, static_argnames=("model", "steps", "batch"))
def _train_jit(model: lm.TinyLM, chain, steps: int, batch: int, lr, key):
    k_init, k_data = jax.random.split(key)
    w0 = lm.init_params(model, k_init)
    opt = optax.adam(lr)

    def step(carry, i):
        w, st = carry
        rows = text.sample_sequences(jax.random.fold_in(k_data, i), chain, batch, model.context)
        loss, g = jax.value_and_grad(lambda w: lm.mean_loss(model, w, rows))(w)
        u, st = opt.update(g, st, w)
        return (optax.apply_updates(w, u), st), loss

    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(steps))
    return ravel_pytree(w)[0], losses


def _train(model: lm.TinyLM, chain, steps: int, batch: int, lr: float, seed: int):
    """Adam on fresh Markov batches (tokens 0..S-1 of the chain); the flat parameter vector and final loss."""
    flat, losses = _train_jit(model, chain, steps, batch, jnp.float32(lr), jax.random.PRNGKey(seed))
    return np.asarray(flat, np.float32), float(np.mean(np.asarray(losses)[-max(1, steps // 10):]))


def pretrained(model: lm.TinyLM, chain, steps: int, batch: int, lr: float, seed: int, log=None):
    """The public model's parameters (a pytree of numpy float32 arrays), from the cache or trained now.

    model: a TinyLM whose vocab covers the chain's states; chain (S, S) row-stochastic (numpy or jax)."""
    with jax.ensure_compile_time_eval():
        chain = jnp.asarray(chain)
        template = lm.init_params(model, jax.random.PRNGKey(0))
        _, unravel = ravel_pytree(template)
        path = cache_dir() / f"{cache_key(model, chain, steps, batch, lr, seed)}.npz"
        flat = None
        if path.exists():
            try:
                with np.load(path) as f:
                    flat = np.asarray(f["flat"], np.float32)
                if flat.shape != ravel_pytree(template)[0].shape:
                    flat = None
            except (OSError, ValueError, KeyError):
                flat = None
        if flat is None:
            flat, loss = _train(model, chain, steps, batch, lr, seed)
            if log is not None:
                log(f"rote: pretrained the public model ({steps} steps, final loss {loss:.3f} nats); cached at {path}")
            buf = io.BytesIO()
            np.savez(buf, flat=flat, loss=loss)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, buf.getvalue())
            except (OSError, RoteError) as exc:  # a read-only home: train every time rather than fail
                if log is not None:
                    log(f"rote: could not cache the public model at {path} ({exc})")
        return jax.tree_util.tree_map(np.asarray, unravel(jnp.asarray(flat)))
