"""A toy study for the engine tests, registered nowhere: noisy gradient descent on a random quadratic.

``samples`` is static (an internal shape, so one compiled function per value); ``lr``, ``noise``,
``decay`` and ``seed`` are traced. Metrics: the loss every ``log_every`` steps (dim ``step``), the final
parameters (dim ``unit``) and ``loss_per_noise``, NaN by definition at noise 0 (so not a divergence
metric). A huge ``lr`` diverges: the loss overflows to inf, then NaN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rote.sims import params as P
from rote.sims.errors import ConfigError
from rote.sims.study import Study


@P.study_params
class ToyParams:
    width: int = P.static(4, "parameters (dim `unit`)", ge=1, integer=True)
    samples: int = P.static(1, "noise draws averaged per step (an internal shape)", ge=1, integer=True)
    steps: int = P.static(20, "gradient steps", ge=1, integer=True)
    log_every: int = P.static(10, "log the loss every this many steps", ge=1, integer=True)
    lr: float = P.traced(0.1, "step size", gt=0)
    noise: float = P.traced(0.0, "gradient noise, in [0, 1]", ge=0, le=1)
    decay: float = P.traced(0.0, "weight decay", ge=0)
    seed: int = P.seed()

    def validate(self):
        if self.steps % self.log_every:
            raise ConfigError(f"steps {self.steps} must be a multiple of log_every {self.log_every}")


def run(params: ToyParams, key) -> dict:
    k_a, k_w, k_n = jax.random.split(key, 3)
    m = jax.random.normal(k_a, (params.width, params.width))
    curvature = m @ m.T / params.width + 0.5 * jnp.eye(params.width)

    def step(w, t):  # noise from fold_in(t): a longer run repeats a shorter one's first steps
        draws = jax.random.normal(jax.random.fold_in(k_n, t), (params.samples, params.width))
        w = w - params.lr * (curvature @ w + params.decay * w + params.noise * draws.mean(0))
        return w, 0.5 * w @ curvature @ w

    w0 = jax.random.normal(k_w, (params.width,))
    w, losses = jax.lax.scan(step, w0, jnp.arange(params.steps))
    loss = jnp.concatenate([(0.5 * w0 @ curvature @ w0)[None], losses])[:: params.log_every]
    return {"loss": loss, "w": w, "loss_per_noise": jnp.where(params.noise > 0, loss[-1] / params.noise, jnp.nan)}


STUDY = Study(
    name="toy",
    params_type=ToyParams,
    run=run,
    scales={},
    metric_dims={"loss": ("step",), "w": ("unit",), "loss_per_noise": ()},
    coords=lambda p: {"step": np.arange(0, p.steps + 1, p.log_every), "unit": np.arange(p.width)},
    divergence_metrics=("loss", "w"),
    summarize=lambda ds: ds.assign(final_loss=ds["loss"].isel(step=-1, drop=True)),
)
METRICS = tuple(STUDY.metric_dims)

# The tiny grid most engine tests share: samples is static (two compiled groups of six configs each).
TOY = ToyParams()
TOY_AXES = {"samples": (1, 2), "noise": (0.0, 0.3, 0.5), "decay": (0.0, 1.0)}
