"""Parameters of the `mha-capacity` study (Mahdavi, Liao, Thrampoulidis, arXiv 2306.02010).

Heads H, context length n and head dimension d_h are traced: the model is compiled at H_max, n_max and
d_h_max and masks the rest (sims/studies/mha_capacity/model.py), so one compile serves a whole panel.
A config measures its capacity by an adaptive search over the number of training examples
(``search = 'bisect'``, run.py) on T_max examples drawn per seed, or trains once on the first T
(``search = 'fixed'``; T static, one compile per value).
"""

from __future__ import annotations

import functools

from ...errors import ConfigError
from ...params import seed, size, static, study_params, traced

CONTEXTS = ("fixed", "random", "perm")
MODELS = ("official", "bare")
SEARCHES = ("bisect", "fixed")
PERM_BAG = 500  # 'perm' contexts draw n distinct vectors from a bag of this many (the paper's official code)
SIZE_BOUND = 1 << 20  # upper bound of every size field


_size = functools.partial(size, hi=SIZE_BOUND)  # sizes here go up to 2^20


@study_params
class MHAParams:
    d: int = _size(16, "input dimension p of query and context vectors")
    D: int = _size(16, "model width d_model")
    n_max: int = _size(8, "context rows in the compiled model; the first n are used")
    d_h_max: int = _size(16, "query/key columns per head in the compiled model; the first d_h are used")
    H_max: int = _size(8, "heads in the compiled model; H <= H_max are active")
    T_max: int = _size(2048, "examples drawn per seed: the search's upper bound; the first T are trained on")
    C: int = _size(2, "classes (C >= 2: classification, cross-entropy); C = 1: regression, MSE")
    context: str = static("fixed", "'fixed' (shared), 'random' or 'perm'", choices=CONTEXTS)
    model: str = static("official", "'official' (the paper's experiment, Sec. 5) or 'bare' (the layer of Sec. 3)", choices=MODELS)
    search: str = static("bisect", "'bisect': capacity by doubling T then bisecting; 'fixed': one run at T", choices=SEARCHES)
    T_start: int = _size(256, "first T the search tries (it doubles from there, or halves on failure)")
    max_probes: int = _size(10, "most training runs (probes) one search makes")
    resolution: float = static(1 / 16, "the search stops when its bracket [lo, hi) satisfies hi - lo <= max(1, resolution lo)", gt=0, lt=1)
    target_acc: float = traced(0.99, "training accuracy at which a probe counts as memorized", gt=0, le=1)
    steps: int = _size(3000, "full-batch Adam steps per probe (budget; a search probe stops once it memorizes)")
    log_every: int = _size(100, "log accuracy and loss every this many steps")
    H: int = traced(4, "active heads (H <= H_max)", ge=1, integer=True)
    n: int = traced(8, "context length (n <= n_max)", ge=1, integer=True)
    d_h: int = traced(16, "query/key dimension per head (d_h <= d_h_max)", ge=1, integer=True)
    T: int = static(256, "training examples with search = 'fixed' (the first T of T_max drawn per seed)", ge=1, integer=True)
    lr: float = traced(1e-2, "peak learning rate", gt=0)
    seed: int = seed(doc="data and init derive from this seed")

    def validate(self):
        if self.context == "perm" and self.n_max > PERM_BAG:
            raise ConfigError(f"'perm' contexts need n_max <= {PERM_BAG}, got n_max {self.n_max}")
        sized = (("H", "H_max"), ("n", "n_max"), ("d_h", "d_h_max"), ("T" if self.search == "fixed" else "T_start", "T_max"))
        for name, cap in sized:
            value, limit = getattr(self, name), getattr(self, cap)
            if value > limit:
                raise ConfigError(f"{name} must be an integer in [1, {cap}={limit}], got {value} (raise {cap})")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every ({self.log_every}) must divide steps ({self.steps})")
        if self.model == "bare" and self.C != 1:
            raise ConfigError("the bare layer has one scalar output: use C = 1 (regression)")
