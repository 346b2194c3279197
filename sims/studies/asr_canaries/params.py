"""Parameters of the `asr-canaries` study: sped-up canaries in a small CTC speech model, per-example and
per-core clipping.

Wang, Thakkar, Mathews, "Unintended Memorization in Large ASR Models, and How to Mitigate It" (arXiv
2310.11739): random token strings are rendered, sped up, and inserted r times into training; their
token error rate (TER) against never-inserted ones measures memorization; per-example clipping (PEC)
and per-core clipping (PCC, the clipped mean gradient of each of ``cores`` equal microbatches) mitigate
it. The synthetic speech is ``rote.sims.speech``; the toy's sizes and decisions are in NOTES.md.

Sizes, the method and the epochs are static (one compile per value); the clip norm C, the learning
rate, the momentum, the noise level and the seed are traced. Repetition levels are a '/'-separated list
whose 0 is the held-out group K_0.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...params import parse_levels as parse_slash_levels
from ...params import seed, size, static, study_params, traced
from ...speech import check_canary_feasible

METHODS = ("baseline", "pec", "pcc")
MAX_LEVEL = 1024




def parse_levels(text: str) -> tuple[int, ...]:
    """'0/1/2/4' -> (0, 1, 2, 4): the repetition levels, distinct ascending integers in [0, MAX_LEVEL]."""
    return parse_slash_levels(text, "repetitions", 0, MAX_LEVEL)


@study_params
class AsrParams:
    vocab: int = size(16, "tokens 1..vocab (0 is the CTC blank)", lo=2, hi=256)
    dim: int = size(16, "feature dimension D ('mel bins') of the token prototypes", hi=512)
    noise: float = traced(0.5, "frame noise sigma around a token's prototype", ge=0)
    concentration: float = traced(0.3, "Dirichlet concentration of the bigram rows (self-transitions removed)", gt=0)
    min_len: int = size(4, "shortest clean utterance (tokens)", lo=1, hi=256)
    max_len: int = size(8, "longest clean utterance (tokens)", lo=1, hi=256)
    d_min: int = size(2, "fewest frames per token", hi=64)
    d_max: int = size(4, "most frames per token", hi=64)
    speedup: int = size(6, "speed-up factor s: average pooling of s frames", hi=64)
    formant_shift: int = static(5, "the sped-up renderer rolls the feature axis by this much", ge=0, le=512, integer=True)
    formant_gain: float = traced(1.5, "... and scales it by this much", gt=0)
    canary_length: int = size(8, "tokens of a canary (uniform, no adjacent repeats)", hi=256)
    repetitions: str = static("0/1/2/4/8/16", "repetition levels r ('/'-separated; 0 is the held-out group K_0)")
    canaries_per_level: int = size(20, "canaries at each repetition level")
    insert_canaries: bool = traced(True, "insert the canaries r times (False: the no-canary control, where extra clean "
                                   "utterances take the copies' places; every canary is held out)")
    train_utterances: int = size(2000, "clean training utterances")
    test_utterances: int = size(200, "clean test utterances")
    calib_utterances: int = size(64, "clean training utterances whose per-example gradient norms are logged")
    width: int = size(48, "convolution channels", hi=4096)
    blocks: int = size(1, "residual convolution blocks after the input convolution", lo=0, hi=64)
    kernel: int = size(5, "convolution kernel (frames)", hi=64)
    upsample: int = size(3, "output frames per input frame (CTC slack on short sped-up inputs)", hi=16)
    method: str = static("baseline", "'baseline' (batch global-norm clip only), 'pec' (per-example clip at C), "
                         "'pcc' (per-core clip at C)", choices=METHODS)
    clip: float = traced(1.0, "clip norm C of PEC / PCC", gt=0)
    cores: int = size(8, "PCC: cores (equal microbatches) the batch is split over")
    batch_clip: float = traced(1.0, "global-norm clip of the batch update (every method, as in ordinary ASR training)", gt=0)
    match_step: bool = traced(False, "scale the learning rate of PEC / PCC by batch_clip / min(C, batch_clip): the largest "
                              "update, lr x batch_clip, is then the same for every method and C (C = inf: the baseline)")
    batch_size: int = size(32, "examples per step")
    epochs: int = size(4, "passes over the training multiset (a fresh permutation each, remainder dropped)", hi=10000)
    lr: float = traced(0.05, "SGD learning rate", gt=0)
    momentum: float = traced(0.9, "SGD momentum", ge=0, lt=1)
    seed: int = seed(doc="prototypes, language, utterances, canaries, renderings, init and batch order derive from this seed")

    def validate(self):
        if self.min_len > self.max_len:
            raise ConfigError(f"min_len {self.min_len} exceeds max_len {self.max_len}")
        if self.d_min > self.d_max:
            raise ConfigError(f"d_min {self.d_min} exceeds d_max {self.d_max}")
        if self.canary_length > self.vocab * 64 or self.canary_length < 2:
            raise ConfigError(f"canary_length must be in [2, 64 vocab], got {self.canary_length}")
        check_canary_feasible(self.canary_length, self.d_min, self.speedup, self.upsample)
        if self.batch_size % self.cores:
            raise ConfigError(f"cores {self.cores} must divide batch_size {self.batch_size}")
        levels = self.levels
        if 0 not in levels or len(levels) < 2:
            raise ConfigError(f"repetitions must hold the held-out level 0 and at least one trained level, got {self.repetitions!r}")
        if self.calib_utterances > self.train_utterances:
            raise ConfigError(f"calib_utterances {self.calib_utterances} exceeds train_utterances {self.train_utterances}")
        if self.training_size < self.batch_size:
            raise ConfigError(f"the training multiset ({self.training_size}) is smaller than batch_size {self.batch_size}")

    @property
    def levels(self) -> tuple[int, ...]:
        return parse_levels(self.repetitions)

    @property
    def training_size(self) -> int:
        """Examples in the training multiset: clean utterances plus r copies of each canary of level r."""
        return self.train_utterances + self.copies

    @property
    def copies(self) -> int:
        """Canary copies in the training multiset (replaced by as many extra clean utterances in the control)."""
        return sum(self.levels) * self.canaries_per_level

    @property
    def label_len(self) -> int:
        return max(self.max_len, self.canary_length)

    @property
    def frames(self) -> int:
        """Input frames of every (padded) example: the longest clean or canary rendering at normal speed."""
        return self.label_len * self.d_max


def canary_levels(params: AsrParams) -> np.ndarray:
    """(K,) the repetition level of each canary, level-major (0 first: the held-out group)."""
    return np.repeat(np.asarray(params.levels, np.int32), params.canaries_per_level)
