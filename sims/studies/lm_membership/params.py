"""Parameters of the `lm-membership` study: counterfactual memorization and membership inference on
shadow models of a tiny LM.

Counterfactual memorization (Zhang et al., arXiv 2112.12938, Sec. 2, Eq. 1) and the membership
inference attacks surveyed by Hartmann et al. (arXiv 2310.18362, Sec. 3 and 5), LiRA (Carlini et al.,
arXiv 2112.03570, Sec. IV) and RMIA (Zarifzadeh et al., arXiv 2312.03262), measured on M shadow models
that each train on a random subset of one fixed pool of N sequences. One config is one shadow model:
its ``seed`` draws the keep mask (each sequence kept with probability ``keep``), the initialization and
the batches; ``data_seed`` draws the pool, the same for every model of a sweep. The grid's seed axis is
therefore the shadow-model axis, and M = the number of seeds.

Pool (rows in this order): ``rare`` unique uniformly random sequences; ``families`` x ``per_family``
templated sequences ("common": a Markov head of ``context - body`` tokens, then the family's shared
random body of ``body`` tokens); ``markov`` ordinary Markov sequences, the first ``duplicated`` of which
occur ``copies`` times in a training set that keeps them (exact deduplication, Lee et al., arXiv
2107.06499, caps every distinct sequence at one copy).
"""

from __future__ import annotations

import functools

from ...errors import ConfigError
from ...lm import check_heads
from ...params import seed, size, static, study_params, traced

_size = functools.partial(size, lo=0)  # a count here may be 0 unless a field says otherwise


def parse_fprs(text: str) -> tuple[float, ...]:
    """'0.01/0.001' -> (0.01, 0.001): false-positive rates strictly inside (0, 1); ConfigError otherwise."""
    try:
        values = tuple(float(v) for v in str(text).split("/"))
    except ValueError:
        raise ConfigError(f"fprs must be '/'-separated numbers in (0, 1), e.g. '0.01/0.001', got {text!r}") from None
    bad = [v for v in values if not 0.0 < v < 1.0]
    if bad:
        raise ConfigError(f"every FPR must lie in (0, 1), got {bad[0]} in {text!r}")
    return values


@study_params
class MembershipParams:
    vocab: int = _size(48, "tokens, every one a state of the Markov chain", lo=2)
    context: int = _size(20, "tokens per sequence, and the model's context", lo=2, hi=1024)
    successors: int = _size(4, "successors of each chain state (Dirichlet weights)", lo=1)
    concentration: float = traced(1.0, "Dirichlet concentration of the successor weights", gt=0)
    rare: int = _size(128, "unique uniformly random sequences ('rare')")
    families: int = _size(8, "template families of the 'common' sequences")
    per_family: int = _size(32, "sequences per template family")
    body: int = _size(16, "tokens of a family's shared random body (its head is the context - body Markov tokens before it)", lo=1)
    markov: int = _size(128, "ordinary Markov sequences")
    duplicated: int = _size(0, "Markov sequences (the first ones) occurring `copies` times in a training set that keeps them")
    copies: int = _size(8, "multiplicity of a duplicated sequence", lo=1, hi=4096)
    keep: float = traced(0.5, "probability that a shadow model trains on a sequence (its keep mask)", gt=0, lt=1)
    dedup: bool = traced(False, "exact deduplication: every distinct kept sequence occurs once")
    width: int = _size(64, "model width d", lo=1)
    layers: int = _size(2, "transformer blocks", lo=1)
    heads: int = _size(4, "attention heads", lo=1)
    mlp_ratio: int = _size(4, "MLP width / d", lo=1)
    steps: int = _size(800, "optimizer steps (epochs of shuffled occurrences of the kept sequences)", lo=1, hi=1 << 20)
    batch_size: int = _size(32, "sequences per step", lo=1)
    lr: float = traced(3e-3, "Adam learning rate", gt=0)
    min_k: float = static(0.2, "fraction k of lowest-probability tokens averaged by Min-K% and Min-K%++", gt=0, le=1)
    fprs: str = static("0.01/0.001", "false-positive rates at which the attacks' TPR is read, '/'-separated, each in (0, 1)")
    data_seed: int = traced(0, "the pool (chain, rare rows, families) derives from this seed, shared by every model",
                            ge=0, lt=2**31, integer=True)
    seed: int = seed(doc="keep mask, initialization and batches of this shadow model derive from this seed")

    def validate(self):
        parse_fprs(self.fprs)
        if self.successors > self.vocab:
            raise ConfigError(f"successors {self.successors} exceeds the vocab {self.vocab}")
        if self.families and self.body >= self.context:
            raise ConfigError(f"body {self.body} must be shorter than the context {self.context} (the head needs a token)")
        if self.duplicated > self.markov:
            raise ConfigError(f"duplicated {self.duplicated} exceeds the {self.markov} Markov sequences")
        if self.pool < 2:
            raise ConfigError(f"the pool needs at least 2 sequences (rare + families x per_family + markov), got {self.pool}")
        check_heads(self.width, self.heads)

    @property
    def pool(self) -> int:
        """N: sequences in the pool."""
        return self.rare + self.families * self.per_family + self.markov

    @property
    def fpr_values(self) -> tuple[float, ...]:
        return parse_fprs(self.fprs)


KINDS = ("rare", "common", "markov")


def layout(p: MembershipParams) -> dict:
    """Host-side layout of the pool (numpy): per sequence its kind (index into KINDS), its template
    family (-1 outside the common rows) and its multiplicity in a training set that keeps it."""
    import numpy as np

    n_common = p.families * p.per_family
    kind = np.repeat(np.arange(3), (p.rare, n_common, p.markov)).astype(np.int32)
    family = np.full(p.pool, -1, np.int32)
    family[p.rare : p.rare + n_common] = np.repeat(np.arange(p.families), p.per_family)
    copies = np.ones(p.pool, np.int32)
    copies[p.rare + n_common : p.rare + n_common + p.duplicated] = p.copies
    return {"kind": kind, "family": family, "copies": copies}
