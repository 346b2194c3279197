"""The ideal memorizer of a text-conditioned diffusion model, in closed form (no training).

For a training set of (image x_i, caption, multiplicity m_i) and a prompt whose matching pairs are the set
G, the denoiser that minimises the diffusion loss on the empirical distribution is the posterior mean
(the "empirical denoiser"; e.g. Carlini et al. arXiv 2301.13188, Sec. 5, and Somepalli et al. arXiv
2212.03860 on duplication by sampling weight):

    E[x0 | x_t, c] = sum_{i in G} w_i x_i,   w_i = m_i N(x_t; sqrt(abar_t) x_i, (1 - abar_t) I) / sum_j (...),
    eps*(x_t, t) = (x_t - sqrt(abar_t) E[x0 | x_t, c]) / sqrt(1 - abar_t).

Its probability-flow ODE (DDIM with eta = 0, Song et al. arXiv 2010.02502, Sec. 4.3) carries N(0, I) onto the
empirical mixture, so exact sampling returns training image i with probability m_i / sum_{j in G} m_j (up to
step discretisation): replication rate RR = 1, and in a template group of M equally weighted members each
member with probability 1 / M. A generalising model predicts RR near 0. The functions take jax.numpy arrays
so the package's DDIM sampler (``rote.sims.diffusion.ddim_sample``) can run them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def posterior_weights(x_t, abar_t, images, log_m):
    """w (..., N): the posterior over training images given x_t (..., D); images (N, D), log_m (N,) log
    multiplicities (-inf: not matching the prompt)."""
    d2 = jnp.sum((x_t[..., None, :] - jnp.sqrt(abar_t) * images) ** 2, -1)
    return jax.nn.softmax(log_m - d2 / (2 * (1 - abar_t)), -1)


def ideal_x0(x_t, abar_t, images, log_m):
    """E[x0 | x_t] (..., D) of the empirical mixture sum_i m_i delta(x_i) / sum m."""
    return posterior_weights(x_t, abar_t, images, log_m) @ images


def ideal_eps(x_t, abar_t, images, log_m):
    """The ideal memorizer's noise prediction (x_t - sqrt(abar) E[x0 | x_t]) / sqrt(1 - abar), (..., D)."""
    return (x_t - jnp.sqrt(abar_t) * ideal_x0(x_t, abar_t, images, log_m)) / jnp.sqrt(1 - abar_t)


def sampling_law(m) -> np.ndarray:
    """The ideal memorizer's law over the matching training images: m_i / sum m."""
    m = np.asarray(m, float)
    return m / m.sum()


def frequency_tolerance(p, n: int, z: float = 4.0, discretisation: float = 0.01) -> np.ndarray:
    """Allowed |observed - p| for a frequency from n samples: z binomial standard errors plus a DDIM
    discretisation allowance."""
    p = np.asarray(p, float)
    return z * np.sqrt(p * (1 - p) / n) + discretisation


def memorizer_rates(n_members) -> dict:
    """Predicted replication of the two anchors for a prompt with ``n_members`` matching images of equal weight:
    the ideal memorizer replicates always (RR = 1), each member with probability 1 / n; a generalising model
    never copies (RR = 0)."""
    n = np.asarray(n_members, float)
    return {"memorizer_rr": np.ones_like(n), "memorizer_member": 1.0 / n, "generalizer_rr": np.zeros_like(n)}
