"""The networks of the `over-memorization` study (flax linen), sized for 8 x 8 digits.

Lin, Yu, Han, Liu (ICLR 2024, arXiv 2310.08847) train PreActResNet-18 and WRN-34-10 on 32 x 32 images
(Sec. 3 and Appendix A); on scikit-learn's 8 x 8 digits the study uses the MLP 64-H-H-10 (ReLU) or a
small CNN conv3x3(32) -> conv3x3(64) -> maxpool 2 -> dense 128 -> 10 (ReLU), both from flax's layers
with their default initializers (LeCun normal weights, zero biases).

Both map x (..., 64) on the [0, 1] pixel scale to logits (..., 10).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from .params import CLASSES, OverMemParams


class DigitsMLP(nn.Module):
    """x (..., 64) -> ReLU(Dense H) -> ReLU(Dense H) -> Dense 10."""

    hidden: int

    @nn.compact
    def __call__(self, x):
        h = nn.relu(nn.Dense(self.hidden, name="fc1")(x))
        h = nn.relu(nn.Dense(self.hidden, name="fc2")(h))
        return nn.Dense(CLASSES, name="out")(h)


class DigitsCNN(nn.Module):
    """x (..., 64) as 8 x 8 x 1 -> conv3x3(32) -> conv3x3(64) -> maxpool 2 -> Dense 128 -> Dense 10."""

    dense: int = 128

    @nn.compact
    def __call__(self, x):
        lead = x.shape[:-1]
        h = x.reshape((-1, 8, 8, 1))
        h = nn.relu(nn.Conv(32, (3, 3), padding="SAME", name="conv1")(h))
        h = nn.relu(nn.Conv(64, (3, 3), padding="SAME", name="conv2")(h))
        h = nn.max_pool(h, (2, 2), strides=(2, 2)).reshape((h.shape[0], -1))
        h = nn.relu(nn.Dense(self.dense, name="fc")(h))
        return nn.Dense(CLASSES, name="out")(h).reshape(lead + (CLASSES,))


def build_model(p: OverMemParams) -> nn.Module:
    return DigitsMLP(p.hidden) if p.model == "mlp" else DigitsCNN()


def init_weights(model: nn.Module, key):
    return model.init(key, jnp.zeros((1, 64), jnp.float32))["params"]


def param_count(p: OverMemParams) -> int:
    shapes = jax.eval_shape(lambda: init_weights(build_model(p), jax.random.PRNGKey(0)))
    return sum(int(jnp.prod(jnp.asarray(s.shape))) for s in jax.tree_util.tree_leaves(shapes))
