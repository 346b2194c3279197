"""Parameters of the `t2i-duplication` study: word-level duplication in a small text-to-image diffusion model.

Naseh, Roh, Houmansadr, "Memory Triggers: Unveiling Memorization in Text-To-Image Generative Models through
Word-Level Duplication" (arXiv 2312.03692): a repeated trigger word (type A) or a shared caption template
over different images (type B) makes a diffusion model replicate training images; beside whole-pair
duplication (Somepalli et al., arXiv 2305.20086; Carlini et al., arXiv 2301.13188).

Sizes (image side, model widths, numbers of images, steps, samples) and the level lists are static: one
compile per value. Learning rate, EMA decay, CFG dropout, guidance w, the mitigations' strengths (random
word insertion p, text-embedding noise lambda) and the seed are traced: a grid over them is one vmapped
program. Levels are '/'-separated lists (a comma would split them into sweep values on the command line).
"""

from __future__ import annotations

from ...diffusion import DenoiserFields
from ...errors import ConfigError
from ...params import parse_levels, parse_numbers, seed, size, static, study_params, traced

MAX_LEVEL = 256






@study_params
class T2IParams(DenoiserFields):
    generic: int = size(1000, "generic shape images (each once, with its caption)", lo=8)
    levels: str = static("1/2/4/8/16/32", "duplication levels d of the targets (E1, E2, E3, E5), '/'-separated, each >= 1")
    per_level: int = size(2, "targets per duplication level and experiment", hi=64)
    template_sizes: str = static("1/4/16/64", "template group sizes M (E4): M different images share one caption template")
    template_copies: int = size(4, "copies of each template member (E4)", hi=MAX_LEVEL)
    steps: int = size(3000, "optimizer steps", hi=1 << 20)
    log_every: int = size(1000, "evaluate E1 replication every this many steps (the steps sweep)", hi=1 << 20)
    warmup: int = size(300, "linear warmup steps of the learning rate", lo=0, hi=1 << 20)
    generic_prompts: int = size(16, "fresh generic prompts (leak rate, detector negatives, attribute accuracy)", lo=2)
    fresh: int = size(500, "fresh never-trained images per family for the threshold calibration", lo=100)
    detect_steps: int = size(5, "first DDIM steps averaged by the Wen et al. detector")
    guidance_sweep: str = static("1/3/7", "guidance scales w of the guidance sweep (E1 prompts), '/'-separated, each >= 0")
    guidance: float = traced(3.0, "guidance w of the main evaluation (eps = eps_null + w (eps_c - eps_null))", ge=0, le=100)
    lr: float = traced(1e-3, "peak adamw learning rate", gt=0)
    ema: float = traced(0.999, "EMA decay of the weights the evaluation samples with", ge=0, lt=1)
    seed: int = seed(doc="images, captions, initialization, batches and sampling noise derive from this seed")

    def validate(self):
        self.check_denoiser()
        levels = self.dup_levels
        self.template_levels  # noqa: B018 - parse (raises on a bad list)
        if self.detect_steps > self.ddim_steps:
            raise ConfigError(f"detect_steps {self.detect_steps} exceeds ddim_steps {self.ddim_steps}")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every ({self.log_every}) must divide steps ({self.steps})")
        if len(levels) < 2:
            raise ConfigError(f"levels needs at least two duplication levels, got {self.levels!r}")
        self.sweep_guidances  # noqa: B018 - parse (raises on w < 0)

    @property
    def dup_levels(self) -> tuple[int, ...]:
        """Duplication levels d, ascending."""
        return parse_levels(self.levels, "duplication levels", 1, MAX_LEVEL, "duplication levels (copies, >= 1)")

    @property
    def template_levels(self) -> tuple[int, ...]:
        """Template group sizes M, ascending."""
        return parse_levels(self.template_sizes, "template_sizes", 1, MAX_LEVEL)

    @property
    def sweep_guidances(self) -> tuple[float, ...]:
        return parse_numbers(self.guidance_sweep, "guidance w", lo=0.0, field="guidance_sweep")
