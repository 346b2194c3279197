"""Parameters of the `grokking` study: label-corrupted modular arithmetic (arXiv 2310.13061).

The default run is the paper's (Sec. 2): p 97, N 500, full-batch AdamW at lr 0.01 for 2000 steps on
MSE, a two-layer quadratic MLP. The other fields select the regularizers of its Fig. 3 (dropout,
BatchNorm, minibatches), the architectures of Fig. 7 and the losses and activations of Apps. M and N.
Static fields fix the compiled program (a shape, a loop length or a code path); traced ones are
per-config arrays inside one vmapped chunk.
"""

from __future__ import annotations

import math

from ...errors import ConfigError
from ...params import seed as seed_field
from ...params import static, study_params, traced

MAX_P = 4096  # p^2 pairs are materialised per config: 16.8 M pairs at the bound
REGULARIZERS = ("none", "dropout", "batchnorm")
MODELS = ("mlp2", "mlp3", "transformer")
ACTIVATIONS = ("quadratic", "relu")
LOSSES = ("mse", "ce")


@study_params
class GrokkingParams:
    """Parameters of one run. Static fields fix shapes; traced ones may differ inside a vmapped chunk."""

    p: int = static(97, "modulus (paper 97)", ge=2, le=MAX_P, integer=True)
    N: int = static(500, "hidden width (paper 500)", ge=1, integer=True)
    steps: int = static(2000, "full-batch optimizer steps", ge=1, integer=True)
    log_every: int = static(10, "log metrics every this many steps", ge=1, integer=True)
    alpha: float = static(0.5, "training fraction of the p^2 pairs; static because n_train is a shape", gt=0.0, lt=1.0)
    operation: str = static("add", "'add': (m+n) mod p, 'mul': (m n) mod p", choices=("add", "mul"))
    xi: float = traced(0.0, "fraction of training labels corrupted, in [0, 1]", ge=0.0, le=1.0)
    weight_decay: float = traced(0.0, "AdamW decoupled weight decay (multiplied by lr)", ge=0.0)
    lr: float = traced(0.01, "AdamW learning rate", gt=0.0)
    seed: int = seed_field(0, "data shuffle, corrupted labels and init all derive from this seed")
    regularizer: str = static("none", "'none' (fast hand-written gradient), 'dropout' or 'batchnorm' (plain jax.grad)", choices=REGULARIZERS)
    dropout: float = traced(0.0, "dropout rate on the hidden pre-activation (needs regularizer='dropout')", ge=0.0, lt=1.0)
    batch_size: int = static(0, "minibatch size; 0 = full batch. Each epoch a fresh permutation, last partial batch dropped", ge=0, integer=True)
    prune_curves: int = static(0, "1: compute the IPR-ranked pruning curves at the end of training; 0: NaN (an int 0/1 like every CLI-settable field)",
                               ge=0, le=1, integer=True)
    # The architecture, activation and loss are static, like ``regularizer``: each changes the compiled
    # program, and the default (mlp2, quadratic, mse) keeps the hand-written gradient (gradient.py).
    model: str = static("mlp2", "'mlp2' (paper Sec. 2), 'mlp3' (3-layer ReLU MLP, Fig. 7b) or 'transformer' (1 encoder block, Fig. 7a; N = model dimension d)",
                        choices=MODELS)
    activation: str = static("quadratic", "mlp2 hidden activation: 'quadratic' (x^2) or 'relu' (App. N)", choices=ACTIVATIONS)
    loss: str = static("mse", "'mse' (paper default) or 'ce' (softmax cross-entropy, App. M)", choices=LOSSES)
    heads: int = static(4, "attention heads of the transformer (paper 4); must divide N", ge=1, integer=True)

    def validate(self):
        """The rules that span several fields (each field's own bounds are declared above)."""
        n_train = self.n_train
        if n_train < 1 or n_train >= self.p**2:
            raise ConfigError(
                f"alpha {self.alpha} with p {self.p} leaves {n_train} training and {self.p**2 - n_train} test pairs; both must be >= 1"
            )
        if self.steps % self.log_every:
            raise ConfigError(f"log_every ({self.log_every}) must be a positive divisor of steps ({self.steps})")
        if self.dropout > 0 and self.regularizer != "dropout":
            raise ConfigError(f"dropout {self.dropout} needs regularizer='dropout' (got {self.regularizer!r})")
        if self.batch_size > n_train:
            raise ConfigError(f"batch_size must be an integer in [0, n_train = {n_train}] (0 = full batch), got {self.batch_size}")
        if self.regularizer == "batchnorm" and self.rows_per_step < 2:
            raise ConfigError("BatchNorm needs at least 2 rows per step (batch statistics)")
        if self.activation != "quadratic" and self.model != "mlp2":
            raise ConfigError(f"activation {self.activation!r} applies to model 'mlp2' only ({self.model!r} has ReLU built in)")
        if not is_default(self) and (self.regularizer != "none" or self.prune_curves):
            raise ConfigError("regularizer and prune_curves need the default model (mlp2, quadratic activation, mse loss)")
        if self.model == "transformer" and self.N % self.heads:
            raise ConfigError(f"heads ({self.heads}) must divide N = {self.N} for the transformer")

    @property
    def n_train(self) -> int:
        return math.floor(self.alpha * self.p**2 + 1e-9)

    @property
    def rows_per_step(self) -> int:
        """Training rows in one step: the minibatch size, or n_train for full batch."""
        return self.batch_size or self.n_train


def is_default(params) -> bool:
    """The configuration with the hand-written gradient (mlp2, quadratic activation, MSE)."""
    return params.model == "mlp2" and params.activation == "quadratic" and params.loss == "mse"
