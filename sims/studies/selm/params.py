"""Parameters of the `selm` study: symmetric encryption with a language model and its IND-CPA game.

Stevens and Su, "Memorization for Good: Encryption with Autoregressive Language Models" (arXiv
2305.10445, Sec. 3-5). One config is one encryption: the message (its ``kind``, ``message_seed`` and
``length``, or explicit ``message`` tokens) is encrypted under the key ``seed`` (an integer) as theta_d in
R^d, by Adam on theta_d from 0 through the keyed Fastfood projection into the weights of a frozen public
LM, until greedy decoding from a fixed prompt reproduces the message and EOS. Every penalty weight, the
length, d (up to the static ``d_max``), the kind of message and the public model (pretrained or random
init) are traced, so a whole study compiles once.

Message kinds (the paper's m2 analogues, Sec. 5.1): 0 Markov text of the public model's chain (news),
1 another chain (PubMed), 2 the public chain's text with the vocabulary shuffled (random words), 3
uniform random tokens (random bytes).
"""

from __future__ import annotations

import functools

from ...errors import ConfigError
from ...lm import check_heads
from ...params import seed, size, static, study_params, traced

KINDS = ("markov", "other_chain", "shuffled", "uniform")


_size = functools.partial(size, lo=0)  # a count here may be 0 unless a field says otherwise


def parse_message(text: str, vocab: int) -> tuple[int, ...]:
    """'3/7/12' -> (3, 7, 12): explicit message tokens, each in [0, vocab); ConfigError otherwise."""
    try:
        tokens = tuple(int(t) for t in str(text).split("/"))
    except ValueError:
        raise ConfigError(f"message must be '/'-separated integer tokens, e.g. '3/7/12', got {text!r}") from None
    bad = [t for t in tokens if not 0 <= t < vocab]
    if bad:
        raise ConfigError(f"message token {bad[0]} is outside the vocabulary [0, {vocab})")
    return tokens


@study_params
class SelmParams:
    vocab: int = _size(48, "message tokens (EOS is one more token of the model)", lo=2)
    context: int = _size(40, "the public model's context: prompt + message + EOS must fit", lo=4, hi=1024)
    prompt: int = _size(4, "tokens of the fixed prompt before the message (the paper's UUID)", lo=1)
    width: int = _size(32, "public model width", lo=1)
    layers: int = _size(2, "transformer blocks", lo=1)
    heads: int = _size(4, "attention heads", lo=1)
    mlp_ratio: int = _size(4, "MLP hidden width / model width", lo=1)
    successors: int = _size(4, "successors of each Markov-chain state", lo=1)
    chain_seed: int = _size(0, "seed of the public chain (pretraining text, kind-0 and kind-2 messages)", hi=2**31 - 1)
    other_chain_seed: int = _size(1, "seed of the other chain (kind-1 messages)", hi=2**31 - 1)
    public_seed: int = _size(0, "initialization and batches of the public model", hi=2**31 - 1)
    pretrain_steps: int = _size(400, "Adam steps of pretraining the public model (cached)")
    pretrain_batch: int = _size(32, "sequences per pretraining step", lo=1)
    pretrain_lr: float = static(3e-3, "pretraining learning rate", gt=0)
    d_max: int = _size(1024, "length of the saved ciphertext array (d <= d_max)", lo=1, hi=1 << 24)
    check_every: int = _size(10, "steps between convergence checks (teacher-forced argmax vs the message)", lo=1)
    message: str = static("", "explicit message tokens '3/7/12' (overrides kind / message_seed; must have `length` tokens)")
    d: int = traced(256, "ciphertext dimension (the subspace of the projection)", ge=1, lt=1 << 24, integer=True)
    length: int = traced(16, "message tokens L (EOS follows)", ge=1, le=1 << 16, integer=True)
    kind: int = traced(0, "message kind: 0 Markov, 1 other chain, 2 shuffled vocabulary, 3 uniform", choices=(0, 1, 2, 3))
    message_seed: int = traced(0, "which message of its kind (with fresh_message 0)", ge=0, lt=2**31, integer=True)
    fresh_message: int = traced(0, "1: the message index is the key seed (a fresh message per config), 0: message_seed",
                                choices=(0, 1))
    max_steps: int = traced(400, "encryption budget in Adam steps (not converged after it: a failure)", ge=1, lt=1 << 24, integer=True)
    pretrained: int = traced(1, "public model: 1 pretrained on Markov text, 0 random initialization", choices=(0, 1))
    lr: float = traced(0.05, "Adam learning rate on theta_d", gt=0)
    l2_weight: float = traced(0.0, "target-L2 penalty lambda: lambda |norm(theta_d) - l2_target|", ge=0)
    l2_target: float = traced(40.0, "target L2 norm alpha", ge=0)
    dist_weight: float = traced(0.0, "distribution penalty lambda: lambda * integral |ecdf(theta_d) - Phi_sigma|", ge=0)
    dist_sigma: float = traced(1.5, "sigma of the target normal CDF", gt=0)
    warmup: float = traced(0.0, "steps of linear warm-up of both penalty weights (0: none)", ge=0)
    seed: int = seed(doc="the key k: an integer that draws the Fastfood projection (B, Pi, G)")

    def validate(self):
        check_heads(self.width, self.heads)
        if self.successors > self.vocab:
            raise ConfigError(f"successors {self.successors} exceeds the vocab {self.vocab}")
        room = self.context - self.prompt - 1
        if self.length > room:
            raise ConfigError(f"message of {self.length} tokens is longer than the context allows ({self.context} - prompt "
                              f"{self.prompt} - EOS = {room})")
        if self.message:
            tokens = parse_message(self.message, self.vocab)
            if len(tokens) > room:
                raise ConfigError(f"message of {len(tokens)} tokens is longer than the context allows ({room})")
            if len(tokens) != self.length:
                raise ConfigError(f"message has {len(tokens)} tokens but length is {self.length}; set length={len(tokens)}")
        n = param_count(self)
        if self.d_max > n:
            raise ConfigError(f"d_max {self.d_max} is larger than the public model's parameter count {n}")
        if self.d > self.d_max:
            raise ConfigError(f"d {self.d} is larger than d_max {self.d_max} (and at most the parameter count {n})")


def param_count(p: SelmParams) -> int:
    """D, scalars of the public model (vocab + 1 for EOS): embeddings (V + T) w, per block 4 w^2 + 4 w
    (attention) + 2 m w^2 + (m + 1) w (MLP) + 4 w (LayerNorms), final LayerNorm 2 w, head w V + V."""
    w, V, T, m = p.width, p.vocab + 1, p.context, p.mlp_ratio
    block = 4 * w * w + 4 * w + 2 * m * w * w + (m + 1) * w + 4 * w
    return (V + T) * w + p.layers * block + 2 * w + w * V + V
