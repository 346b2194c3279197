"""Parameters of the `t2i-taxonomy` study: an element-level audit of explicit intended (ME), implicit intended (MI)
and unintended (MU) memorization in a small text-to-image diffusion model (Naseh, Roh, Houmansadr, arXiv 2312.07550).

Sizes, the element families' levels (glyph contexts n_ctx with duplicates d, scene feature probabilities q, stamp
counts s, texture duplicates d) and the guidance list are static: one compile per value. Learning rate, EMA decay,
CFG dropout, the mitigations' strengths, the detector thresholds and the seed are traced. Lists are
'/'-separated (a comma would split them into sweep values on the command line).
"""

from __future__ import annotations

from ...diffusion import DenoiserFields
from ...errors import ConfigError
from ...params import parse_levels, parse_numbers, seed, size, static, study_params, traced

MAX_LEVEL = 256






def parse_glyph_levels(text: str) -> tuple[tuple[int, int], ...]:
    """'1x16/1/2/16' -> ((1, 16), (1, 1), (2, 1), (16, 1)): (n_ctx distinct images, d duplicates of each); n_ctx >= 1."""
    out = []
    for part in str(text).split("/"):
        a, _, b = part.partition("x")
        try:
            n, d = int(a), int(b or 1)
        except ValueError:
            raise ConfigError(f"glyph_levels must be '/'-separated n_ctx or n_ctxxd, e.g. '1x16/1/16', got {text!r}") from None
        if not 1 <= n <= MAX_LEVEL:
            raise ConfigError(f"n_ctx must be an integer in [1, {MAX_LEVEL}], got {n} in glyph_levels {text!r}")
        if not 1 <= d <= MAX_LEVEL:
            raise ConfigError(f"glyph duplicates d must be in [1, {MAX_LEVEL}], got {d} in glyph_levels {text!r}")
        out.append((n, d))
    if len(set(out)) != len(out):
        raise ConfigError(f"glyph_levels must be distinct, got {text!r}")
    return tuple(out)



@study_params
class TaxonomyParams(DenoiserFields):
    generic: int = size(600, "generic shape images (each once, with its caption)", lo=8)
    glyph_levels: str = static("1x16/1/2/4/8/16", "glyph conditions n_ctx (distinct backgrounds) or n_ctx x d (each duplicated d times)")
    glyphs_per_level: int = size(2, "glyph tokens per condition", hi=16)
    q_levels: str = static("0.5/0.9/1", "probabilities q of a scene's unnamed feature, '/'-separated, each in [0, 1]")
    scenes_per_q: int = size(2, "scene words per q (features rotate: sun, stripe, texture)", hi=16)
    scene_images: int = size(24, "training images per scene word", lo=2, hi=MAX_LEVEL)
    stamp_levels: str = static("1/2/4/8", "s: training images (of one scene word) carrying each private stamp")
    stamps_per_level: int = size(1, "private stamps per level s", hi=16)
    dup_levels: str = static("4/16", "duplicates d of the whole-image textures with generic captions")
    textures_per_level: int = size(3, "textures per duplication level", hi=64)
    control_prompts: int = size(4, "fresh generic prompts (the control class)", lo=1)
    steps: int = size(4000, "optimizer steps", hi=1 << 20)
    warmup: int = size(200, "linear warmup steps of the learning rate", lo=0, hi=1 << 20)
    fresh: int = size(400, "fresh never-trained images per family for the threshold calibration", lo=100)
    anchor_samples: int = size(1000, "samples of the closed-form ideal memorizer per anchor prompt (T7)", lo=10)
    guidances: str = static("1/3/7", "guidance scales w at which every prompt is sampled, '/'-separated, each >= 0")
    lr: float = traced(2e-3, "peak adamw learning rate", gt=0)
    ema: float = traced(0.998, "EMA decay of the weights the evaluation samples with", ge=0, lt=1)
    tau_glyph: float = traced(0.8, "nominal glyph detector threshold on max NCC (raised to the fresh 99th percentile)", gt=0, lt=1)
    tau_stamp: float = traced(0.8, "nominal stamp detector threshold on max NCC (raised likewise)", gt=0, lt=1)
    tau_feature: float = traced(0.7, "nominal scene-feature detector threshold on max NCC (raised likewise)", gt=0, lt=1)
    rho: float = traced(0.9, "implicit-set cut: e is implicit for a prompt when P_train(e | w) >= rho for a word w of it", gt=0, le=1)
    seed: int = seed(doc="images, captions, initialization, batches and sampling noise derive from this seed")

    def validate(self):
        self.check_denoiser()
        self.glyph_conditions  # noqa: B018 - parse (raises on n_ctx < 1)
        q = self.qs
        s = self.stamp_counts
        self.texture_levels  # noqa: B018
        self.sweep_guidances  # noqa: B018
        if max(s) > self.scene_images:
            raise ConfigError(f"a stamp level s = {max(s)} exceeds scene_images {self.scene_images}")
        if len(s) * self.stamps_per_level > len(q) * self.scenes_per_q:
            raise ConfigError("each stamp needs its own scene word: stamps (levels x per level) must not exceed scenes (q levels x per q)")

    @property
    def glyph_conditions(self) -> tuple[tuple[int, int], ...]:
        return parse_glyph_levels(self.glyph_levels)

    @property
    def qs(self) -> tuple[float, ...]:
        return parse_numbers(self.q_levels, "q", 0.0, 1.0, field="q_levels")

    @property
    def stamp_counts(self) -> tuple[int, ...]:
        return parse_levels(self.stamp_levels, "stamp_levels", 1, MAX_LEVEL)

    @property
    def texture_levels(self) -> tuple[int, ...]:
        return parse_levels(self.dup_levels, "dup_levels", 1, MAX_LEVEL)

    @property
    def sweep_guidances(self) -> tuple[float, ...]:
        return parse_numbers(self.guidances, "guidance w", lo=0.0, field="guidances")
