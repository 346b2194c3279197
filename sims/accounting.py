"""The DP-SGD privacy accountant, without JAX: epsilon of Poisson-subsampled Gaussian steps.

DP-SGD (Abadi et al., arXiv 1607.00133, Sec. 3.1) adds N(0, sigma^2 C^2 I) to a clipped sum of
per-example gradients of a Poisson sample (each example independently with probability q); the
privacy loss of ``steps`` such steps is composed with the ``dp_accounting`` package (PLD by default:
privacy loss distributions, Doroshenko et al., arXiv 2207.04380; or RDP: Mironov, arXiv 1702.07476,
with the subsampled-Gaussian bound of Mironov, Talwar, Zhang, arXiv 1908.10530).

This module imports neither JAX nor the training code, so result summaries (a study's analysis) can
report epsilon from saved parameters; ``rote.sims.privacy`` re-exports ``epsilon``.
"""

from __future__ import annotations

import math
import numbers

from .errors import ConfigError

ACCOUNTANTS = ("pld", "rdp")


def _real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_accounting(noise_multiplier, sampling_rate, steps, delta, accountant: str = "pld"):
    """Raise ConfigError (one line) unless sigma >= 0, q in [0, 1], steps an integer >= 0, delta in (0, 1)."""
    if not (_real(noise_multiplier) and math.isfinite(noise_multiplier) and noise_multiplier >= 0):
        raise ConfigError(f"noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}")
    if not (_real(sampling_rate) and 0 <= sampling_rate <= 1):
        raise ConfigError(f"sampling_rate must be a number in [0, 1], got {sampling_rate!r}")
    if not (isinstance(steps, numbers.Integral) and not isinstance(steps, bool) and steps >= 0):
        raise ConfigError(f"steps must be an integer >= 0, got {steps!r}")
    if not (_real(delta) and 0 < delta < 1):
        raise ConfigError(f"delta must be a number in (0, 1), got {delta!r}")
    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"accountant must be one of {', '.join(map(repr, ACCOUNTANTS))}, got {accountant!r}")


def epsilon(noise_multiplier: float, sampling_rate: float, steps: int, delta: float, accountant: str = "pld") -> float:
    """Upper bound on epsilon of ``steps`` Poisson-subsampled Gaussian steps (rate q, noise multiplier
    sigma) at ``delta``, add-or-remove-one neighbours, from ``dp_accounting``.

    accountant: "pld" (privacy loss distributions, tight up to the discretization 1e-4, the default)
    or "rdp" (Renyi DP, faster and looser). sigma = 0 gives inf; no step or q = 0 gives 0.
    """
    check_accounting(noise_multiplier, sampling_rate, steps, delta, accountant)
    noise_multiplier, sampling_rate, steps, delta = float(noise_multiplier), float(sampling_rate), int(steps), float(delta)
    if steps == 0 or sampling_rate == 0:
        return 0.0
    if noise_multiplier == 0:
        return math.inf
    import dp_accounting  # 1.5 s to import: only where epsilon is asked for

    step = dp_accounting.PoissonSampledDpEvent(sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    event = dp_accounting.SelfComposedDpEvent(step, steps)
    acc = dp_accounting.pld.PLDAccountant() if accountant == "pld" else dp_accounting.rdp.RdpAccountant()
    return float(acc.compose(event).get_epsilon(delta))
