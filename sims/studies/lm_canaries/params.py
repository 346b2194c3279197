"""Parameters of the `lm-canaries` study: canaries, exposure, extraction and DP-SGD in a tiny LM.

Carlini et al., "The Secret Sharer" (arXiv 1802.08232): canaries of random digits after a fixed
prefix, inserted r times into the training text of a tiny decoder-only LM trained from scratch;
exposure by enumeration of the secret space, greedy extraction with k-token true prefixes (Carlini et
al., arXiv 2202.07646), and the mitigations of the memorization survey (Hartmann et al., arXiv
2310.18362, Sec. 5): exact deduplication (Lee et al., arXiv 2107.06499) and DP-SGD (Abadi et al.,
arXiv 1607.00133).

Sizes (vocabulary, context, widths, numbers of canaries and sequences, steps) are static: one compile
per value. Learning rate, deduplication, clip norm C, noise multiplier sigma, delta and the seed are
traced: a grid over them runs as one vmapped program. Repetition levels and prompt lengths are
'/'-separated lists (a comma would split them into sweep values on the command line).
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...lm import check_heads
from ...params import SIZE_BOUND, parse_levels, seed, size, static, study_params, traced
from ...text import check_canary_layout

DIGITS = 10  # digit tokens 0..9 come first in the vocabulary; word (chain) tokens follow
MAX_LEVEL = 4096  # largest repetition level accepted





@study_params
class CanaryParams:
    vocab: int = size(48, "tokens: the 10 digits, then vocab - 10 word states of the Markov chain", lo=1)
    context: int = size(24, "tokens per training row, and the model's context", lo=2, hi=1024)
    successors: int = size(4, "successors of each chain state (Dirichlet weights)")
    concentration: float = traced(1.0, "Dirichlet concentration of the successor weights", gt=0)
    train_sequences: int = size(2000, "ordinary training rows (Markov text)")
    val_sequences: int = size(256, "held-out Markov rows for the validation loss")
    template_length: int = size(6, "tokens of the canary prefix ('the random number is')", hi=64)
    secret_digits: int = size(4, "digits of a secret; |R| = 10^secret_digits", hi=6)
    repetitions: str = static("0/1/2/4/8/16", "repetition levels r of canaries and of tracked training rows, '/'-separated")
    canaries_per_level: int = size(8, "canaries (and tracked training rows) at each repetition level")
    references: int = size(2000, "never-inserted secrets of the skew-normal extrapolation")
    audit_canaries: int = size(128, "one-run audit canaries (own prefix), each inserted once with probability 1/2", lo=2)
    audit_digits: int = size(8, "digits of an audit canary's secret (scored by its log-perplexity, no enumeration)", hi=9)
    prompt_lengths: str = static("2/4/6/8", "true-prefix lengths k of the extraction test, '/'-separated")
    suffix_length: int = size(8, "tokens a tracked training row must reproduce after its k-token prefix")
    width: int = size(64, "model width d")
    layers: int = size(2, "transformer blocks")
    heads: int = size(4, "attention heads")
    mlp_ratio: int = size(4, "MLP width / d")
    steps: int = size(1500, "optimizer steps", hi=1 << 20)
    log_every: int = size(100, "log exposure and losses every this many steps", hi=1 << 20)
    batch_size: int = size(32, "expected Poisson batch size (sampling rate q = batch_size / training-set size)")
    lr: float = traced(3e-3, "Adam learning rate", gt=0)
    dedup: bool = traced(False, "exact deduplication: every distinct training row occurs once")
    dp: bool = static(False, "DP-SGD: per-example clipping at `clip` and Gaussian noise `sigma * clip`")
    clip: float = traced(1.0, "per-example clip norm C (with dp)", gt=0)
    sigma: float = traced(0.0, "noise multiplier sigma (with dp)", ge=0)
    delta: float = traced(1e-5, "delta of the accountant's and the audit's epsilon", gt=0, lt=1)
    seed: int = seed(doc="chain, text, secrets, audit coins, init, sampling and noise derive from this seed")

    def validate(self):
        check_canary_layout(self.vocab, self.context, self.template_length, self.secret_digits)
        if self.vocab - DIGITS < self.successors:
            raise ConfigError(f"vocab {self.vocab} leaves {self.vocab - DIGITS} word tokens after the {DIGITS} digits, "
                              f"fewer than successors {self.successors}")
        levels, ks = self.levels, self.prompts
        if len(levels) < 2:
            raise ConfigError(f"repetitions needs at least two levels, got {self.repetitions!r}")
        canary = self.template_length + self.secret_digits
        if ks[-1] >= canary or ks[-1] + self.suffix_length > self.context:
            raise ConfigError(f"prompt length {ks[-1]} must be below the canary length {canary} and, plus suffix_length "
                              f"{self.suffix_length}, fit the context {self.context}")
        tracked = len(levels) * self.canaries_per_level
        if tracked >= self.train_sequences:
            raise ConfigError(f"train_sequences {self.train_sequences} must exceed the {tracked} tracked training rows "
                              f"({len(levels)} levels x {self.canaries_per_level})")
        if tracked + self.references > 10**self.secret_digits:
            raise ConfigError(f"{tracked} canaries + {self.references} references exceed the {10**self.secret_digits} secrets")
        if self.audit_canaries > 10**self.audit_digits:
            raise ConfigError(f"{self.audit_canaries} audit canaries exceed the {10**self.audit_digits} audit secrets")
        if self.template_length + self.audit_digits > self.context:
            raise ConfigError(f"context {self.context} is shorter than an audit canary ({self.template_length} prefix + "
                              f"{self.audit_digits} digit tokens)")
        check_heads(self.width, self.heads)
        if self.steps % self.log_every:
            raise ConfigError(f"log_every ({self.log_every}) must divide steps ({self.steps})")
        if self.sigma > 0 and not self.dp:
            raise ConfigError(f"sigma {self.sigma} acts only with dp=True (DP-SGD)")

    @property
    def levels(self) -> tuple[int, ...]:
        """The repetition levels r, ascending."""
        return parse_levels(self.repetitions, "repetitions", 0, MAX_LEVEL)

    @property
    def prompts(self) -> tuple[int, ...]:
        """The extraction prompt lengths k, ascending."""
        return parse_levels(self.prompt_lengths, "prompt_lengths", 1, SIZE_BOUND)


def canary_levels(params: CanaryParams):
    """(C,) the repetition level of each canary (and of each tracked training row), level-major:
    canaries_per_level at the lowest level, then the next."""
    return np.repeat(np.asarray(params.levels, np.int32), params.canaries_per_level)
