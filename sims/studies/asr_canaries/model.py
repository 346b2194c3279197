"""The model of the `asr-canaries` study: a small convolutional CTC acoustic model (flax linen).

A non-autoregressive CTC model stands in for the Conformer CTC models of Wang, Thakkar, Mathews (arXiv
2310.11739, Sec. 3): Conv1D(D -> W, kernel k) and ``blocks`` residual Conv1D(W, kernel k), all ReLU,
'SAME' padding, no normalization layer (BatchNorm would couple the examples of a batch and break
per-example gradients); a linear layer gives ``upsample`` x (V + 1) logits per input frame, reshaped to
``upsample`` output frames per input frame (CTC slack on short sped-up inputs). Padded frames are zeroed
before every convolution so an example's logits do not depend on its padding.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from .params import AsrParams


def patches(h, kernel: int):
    """(T, C) -> (T, kernel C): each frame with its kernel - 1 neighbours ('SAME' zero padding), so a 1-D
    convolution is one matrix product (XLA:CPU runs nn.Conv about 10x slower inside a scanned training
    loop than this; NOTES.md)."""
    T = h.shape[0]
    left = (kernel - 1) // 2
    padded = jnp.pad(h, ((left, kernel - 1 - left), (0, 0)))
    return jnp.concatenate([padded[j : j + T] for j in range(kernel)], axis=-1)


class Conv1D(nn.Module):
    """1-D convolution, 'SAME' padding, as a Dense layer on ``patches``: kernel (kernel x C_in, C_out), bias."""

    features: int
    kernel: int

    @nn.compact
    def __call__(self, h):
        return nn.Dense(self.features)(patches(h, self.kernel))


class ConvCTC(nn.Module):
    vocab: int
    width: int
    blocks: int
    kernel: int
    upsample: int

    @nn.compact
    def __call__(self, frames, n_frames):
        """frames (T, D), n_frames () -> logits (T x upsample, vocab + 1)."""
        T = frames.shape[0]
        mask = (jnp.arange(T) < n_frames)[:, None].astype(frames.dtype)
        h = nn.relu(Conv1D(self.width, self.kernel)(frames * mask))
        for _ in range(self.blocks):
            h = h + nn.relu(Conv1D(self.width, self.kernel)(h * mask))
        logits = nn.Dense(self.upsample * (self.vocab + 1))(h)
        return logits.reshape(T * self.upsample, self.vocab + 1)


def build_model(p: AsrParams) -> ConvCTC:
    return ConvCTC(vocab=p.vocab, width=p.width, blocks=p.blocks, kernel=p.kernel, upsample=p.upsample)


def init_params(model: ConvCTC, p: AsrParams, key):
    return model.init(key, jnp.zeros((p.frames, p.dim)), jnp.int32(p.frames))["params"]


def forward(model: ConvCTC, params, frames, n_frames):
    """Batched logits: frames (n, T, D), n_frames (n,) -> (n, T x upsample, V + 1)."""
    return jax.vmap(lambda f, n: model.apply({"params": params}, f, n))(frames, n_frames)


def param_count(p: AsrParams) -> int:
    """Conv D->W, blocks x Conv W->W (kernel k, with biases), Dense W -> U (V + 1)."""
    W, k = p.width, p.kernel
    return (k * p.dim * W + W) + p.blocks * (k * W * W + W) + W * p.upsample * (p.vocab + 1) + p.upsample * (p.vocab + 1)
