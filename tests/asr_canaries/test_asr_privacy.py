"""Per-example and per-core clipping of the shared privacy module on the study's CTC loss: C = inf is
the baseline gradient, clipped updates obey their bounds, and per-core clipping across 2 (forced CPU)
devices inside shard_map equals the vmapped microbatch version."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from rote.sims import privacy
from rote.sims.errors import ConfigError


def _quadratic_loss(w, ex):
    x, y = ex
    return 0.5 * jnp.sum((x @ w["a"] + w["b"] - y) ** 2)


def _batch(B=8, seed=0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return jax.random.normal(k1, (B, 3)), jax.random.normal(k2, (B, 2)) * 5.0


W = {"a": jnp.ones((3, 2)), "b": jnp.zeros(2)}


def test_clip_inf_equals_the_mean_gradient():
    batch = _batch()
    plain, _ = ravel_pytree(jax.grad(lambda w: jnp.mean(jax.vmap(_quadratic_loss, in_axes=(None, 0))(w, batch)))(W))
    for g in (privacy.per_example_clipped_grad(_quadratic_loss, W, batch, jnp.inf),
              privacy.per_core_clipped_grad(_quadratic_loss, W, batch, jnp.inf, 4)):
        np.testing.assert_allclose(ravel_pytree(g)[0], plain, rtol=1e-5, atol=1e-6)
    clipped, _ = ravel_pytree(privacy.per_example_clipped_grad(_quadratic_loss, W, batch, 0.1))
    assert not np.allclose(clipped, plain)  # a finite C does change it


def test_clipped_updates_obey_their_bounds():
    batch = _batch()
    C = 0.3
    pec = ravel_pytree(privacy.per_example_clipped_grad(_quadratic_loss, W, batch, C))[0]
    assert float(jnp.linalg.norm(pec)) <= C + 1e-6
    cores = privacy.per_microbatch_grads(_quadratic_loss, W, batch, 4)
    assert np.all(np.asarray(privacy.global_norms(privacy.clip_rows(cores, C))) <= C + 1e-6)
    one = privacy.per_core_clipped_grad(_quadratic_loss, W, batch, C, 8)  # microbatches of one example: PEC
    np.testing.assert_allclose(ravel_pytree(one)[0], pec, rtol=1e-5, atol=1e-7)
    with pytest.raises(ConfigError, match="divide"):
        privacy.per_core_clipped_grad(_quadratic_loss, W, batch, C, 3)


SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.flatten_util import ravel_pytree
    from jax.sharding import Mesh
    from rote.sims import privacy
    from rote.sims.studies.asr_canaries import run as R
    from rote.sims.studies.asr_canaries.model import build_model, init_params
    from rote.sims.studies.asr_canaries.scales import smoke_scale
    assert jax.device_count() == 2, jax.devices()
    p = smoke_scale().base
    data = R.make_data(p, jax.random.PRNGKey(0))
    model = build_model(p)
    w = init_params(model, p, jax.random.PRNGKey(1))
    def loss_fn(w, ex):
        x, n, y, yl = ex
        return R.ctc_losses(model.apply({"params": w}, x, n)[None], (n * p.upsample)[None], y[None], yl[None])[0]
    rows = jnp.arange(8)
    batch = (data["x"][rows], data["n"][rows], data["y"][rows], data["y_len"][rows])
    mesh = Mesh(np.array(jax.devices()), ("cores",))
    for n_cores in (2, 4):
        sharded = jax.jit(lambda w, b, c: ravel_pytree(privacy.sharded_per_core_grad(loss_fn, w, b, c, mesh, "cores", n_cores))[0])
        vmapped = jax.jit(lambda w, b, c: ravel_pytree(privacy.per_core_clipped_grad(loss_fn, w, b, c, n_cores))[0])
        for C in (0.05, 1.0, float("inf")):
            a, b = sharded(w, batch, C), vmapped(w, batch, C)
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-7)
        assert not np.allclose(np.asarray(sharded(w, batch, 0.05)), np.asarray(sharded(w, batch, float("inf"))))  # C acts
    try:
        privacy.sharded_per_core_grad(loss_fn, w, batch, 1.0, mesh, "cores", 3)
        raise SystemExit("no error for 3 cores on 2 devices")
    except privacy.ConfigError:
        pass
    print("SHARDED_OK")
""")


@pytest.mark.slow
def test_per_core_clipping_in_shard_map_equals_vmapped_microbatches():
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "SHARDED_OK" in proc.stdout, proc.stderr[-3000:]
