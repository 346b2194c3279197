"""Parameters of the `over-memorization` study: natural, PGD and FGSM training of a small network on
scikit-learn's 8 x 8 digits, with Distraction Over-Memorization (DOM).

Lin, Yu, Han, Liu, "On the Over-Memorization During Natural, Robust and Catastrophic Overfitting"
(ICLR 2024, arXiv 2310.08847): Sec. 3 (over-memorization: training patterns that suddenly reach a
very low natural loss and keep it), Sec. 4 (the same natural-pattern signature in PGD and FGSM
adversarial training) and Sec. 5, Algorithm 1 (DOM: after the warm-up epoch K, remove (DOM_RE) or
iteratively augment (DOM_DA) the training samples whose natural loss is below the threshold T).

Static fields fix shapes and loop lengths (model, widths, epochs, batch, the attack, the schedule,
the augmentation rounds gamma, evaluation sizes): one compile per value. Everything else is traced,
so a grid over learning rate, label noise, epsilon, step ratio, threshold, warm-up, beta, the DOM
variant and the seed runs as one vmapped program. ``epsilon`` is on the [0, 1] pixel scale of the
scaled digits (the raw digits are 0-16: epsilon 1/16 is one raw grey level; the paper's 8/255 on
CIFAR is 0.031 on this scale).
"""

from __future__ import annotations

from ...errors import ConfigError
from ...params import seed, size, static, study_params, traced

CLASSES = 10
PIXELS = 64  # 8 x 8 digits
TRAIN_SIZE, TEST_SIZE = 1257, 540  # the stratified 70/30 split of the 1797 digits
METHODS = ("baseline", "DOM_RE", "DOM_DA", "augment-all", "persistence")  # the values 0..4 of ``variant``
BASELINE, DOM_RE, DOM_DA, AUGMENT_ALL, PERSISTENCE = range(len(METHODS))
SCHEDULES = ("piecewise", "cyclic")
ATTACKS = ("none", "fgsm", "pgd")
MODELS = ("mlp", "cnn")




@study_params
class OverMemParams:
    model: str = static("mlp", "network: 'mlp' (64-H-H-10, ReLU) or 'cnn' (conv3x3(32), conv3x3(64), maxpool 2, dense 128, 10)", choices=MODELS)
    hidden: int = size(256, "hidden width H of the MLP (dense width of the CNN is 128)")
    epochs: int = size(100, "training epochs", hi=10_000)
    batch_size: int = size(64, "minibatch size (each epoch: floor(1257 / batch) steps of a fresh permutation)", hi=TRAIN_SIZE)
    schedule: str = static("piecewise", "learning-rate schedule: 'piecewise' (x0.1 at 50 % and 75 % of training) or 'cyclic' (0 -> lr at mid-training -> 0)",
                           choices=SCHEDULES)
    lr: float = traced(0.05, "peak learning rate of SGD with momentum", gt=0, le=10)
    momentum: float = traced(0.9, "SGD momentum", ge=0, lt=1)
    weight_decay: float = traced(5e-4, "L2 weight decay added to the gradient (PyTorch SGD)", ge=0, le=1)
    noise: float = traced(0.0, "symmetric label noise: share of training labels replaced by a uniformly drawn other class", ge=0, lt=1)
    attack: str = static("none", "training paradigm: 'none' (natural), 'fgsm' (single-step AT) or 'pgd' (PGD-k AT)", choices=ATTACKS)
    attack_steps: int = size(10, "k of PGD-k adversarial training (ignored for 'none' and 'fgsm')", hi=1000)
    epsilon: float = traced(0.0, "L-inf radius on the [0, 1] pixel scale (16 x epsilon raw digit levels), for training and evaluation", ge=0, le=1)
    step_ratio: float = traced(0.25, "attack step as a multiple of epsilon (PGD: 0.25; RS-FGSM: 1.25)", ge=0, le=10)
    random_start: bool = traced(True, "the training attack starts from a uniform point of the epsilon-ball")
    eval_steps: int = size(20, "k of the PGD-k evaluation attack (random start, step epsilon / 4)", hi=1000)
    robust_eval: int = size(0, "test samples attacked with PGD every epoch (0: no robust accuracy, NaN)", lo=0, hi=TEST_SIZE)
    variant: int = traced(0, "DOM variant: 0 baseline, 1 DOM_RE, 2 DOM_DA, 3 augment-all control, 4 persistence (remove the HC groups)",
                         choices=tuple(range(len(METHODS))))
    threshold: float = traced(0.2, "loss threshold T: natural loss below it marks a high-confidence pattern", ge=0)
    warmup: int = traced(50, "warm-up epoch K: DOM acts from this epoch on; the 'original' HC group is fixed at its start", ge=0, le=10_000, integer=True)
    removal: int = traced(75, "epoch whose start fixes the 'transformed' HC group (low loss now, not at K); the persistence run drops both groups from it",
                          ge=0, le=10_000, integer=True)
    beta: float = traced(0.5, "DOM_DA mixing strength beta: x <- (1 - beta) x + beta DA(x) after a failed round", ge=0, le=1)
    gamma: int = size(3, "DOM_DA rounds gamma (a fixed-length loop)", hi=32)
    shift: int = size(1, "augmentation: random roll of up to this many pixels in each direction", lo=0, hi=3)
    aug_noise: float = traced(0.15, "augmentation: Gaussian noise sigma on the [0, 1] scale", ge=0, le=1)
    dropout: float = traced(0.15, "augmentation: share of pixels set to 0", ge=0, lt=1)
    seed: int = seed(doc="label noise, initialization, batches, attacks and augmentations derive from this seed (the split is fixed)")

    def validate(self):
        if self.removal < self.warmup:
            raise ConfigError(f"removal epoch {self.removal} must not come before the warm-up epoch {self.warmup}")
        if self.robust_eval and self.epsilon == 0:
            raise ConfigError("robust_eval > 0 needs epsilon > 0 (an attack of radius 0 is the clean accuracy)")
        if self.attack != "none" and self.epsilon == 0:
            raise ConfigError(f"attack {self.attack!r} needs epsilon > 0")
