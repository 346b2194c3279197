"""Data, optimiser and training of the `over-memorization` study: the pure ``run(params, key) -> metrics``.

One training run per config on scikit-learn's digits (Lin, Yu, Han, Liu, ICLR 2024, arXiv 2310.08847;
Sec. 3 natural training, Sec. 4 PGD and FGSM adversarial training, Sec. 5 Algorithm 1 DOM):
  * data: the 1797 digits scaled to [0, 1] (raw 0-16 / 16), a fixed stratified 70/30 split (1257
    train, 540 test; ``sklearn.model_selection.train_test_split``, random_state 0), and symmetric label
    noise drawn from the seed: each training label is replaced with probability ``noise`` by one of
    the 9 other classes, uniformly;
  * SGD with momentum and L2 weight decay added to the gradient (PyTorch's SGD, the paper's experimental
    settings) under a piecewise (x0.1 at 50 % and 75 %) or cyclic (0 -> lr -> 0) schedule from optax;
  * each step: DOM's inputs and weights from the clean inputs' natural loss (``dom.dom_inputs``), then
    the training attack on them (none, FGSM or PGD-k, ``rote.sims.adversarial``), and the weighted
    cross-entropy averaged over the full batch;
  * after each epoch: test accuracy, PGD-k robust accuracy on the first ``robust_eval`` test samples,
    and on the whole training set the share with natural loss < T, the share of noisy (and of clean)
    labels fitted, the mean loss, and the mean loss of the two high-confidence groups of Sec. 3:
    'original' (loss < T at the start of epoch K) and 'transformed' (loss < T at the start of epoch
    ``removal``, not at K). With ``variant`` = persistence both groups are dropped from training from
    epoch ``removal`` on, and their losses show whether the memory persists (Fig. 2);
  * at the end, every training sample's natural and PGD-k adversarial loss (Sec. 4's ten-group ranking).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import adversarial
from .dom import dom_inputs
from .model import build_model, init_weights, param_count
from .params import CLASSES, PERSISTENCE, TEST_SIZE, TRAIN_SIZE, OverMemParams

SPLIT_SEED = 0  # the stratified split is fixed: every config sees the same train and test images
EVAL_STEP_RATIO = 0.25  # the PGD evaluation's step, epsilon / 4 (the paper's 2/255 at 8/255)

METRIC_DIMS = {
    "test_acc": ("epoch",),
    "robust_acc": ("epoch",),
    "low_loss_share": ("epoch",),
    "noisy_fit": ("epoch",),
    "clean_fit": ("epoch",),
    "train_loss": ("epoch",),
    "train_adv_acc": ("epoch",),
    "orig_loss": ("epoch",),
    "trans_loss": ("epoch",),
    "orig_size": (),
    "trans_size": (),
    "orig_loss_start": (),
    "trans_loss_start": (),
    "nat_loss": ("sample",),
    "adv_loss": ("sample",),
    "noisy": ("sample",),
}
DIVERGENCE_METRICS = ("train_loss", "test_acc")


@lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train (1257, 64), y_train, x_test (540, 64), y_test): scikit-learn's digits on [0, 1], split
    70/30, stratified by class, with a fixed random_state."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split((x / 16.0).astype(np.float32), y.astype(np.int32), test_size=TEST_SIZE,
                                              stratify=y, random_state=SPLIT_SEED)
    assert len(x_tr) == TRAIN_SIZE
    return x_tr, y_tr, x_te, y_te


def noisy_labels(key, y, rate):
    """Symmetric label noise: each label, with probability ``rate``, becomes one of the other
    CLASSES - 1 classes uniformly. y (N,) -> (labels (N,), flipped (N,) bool)."""
    k_flip, k_class = jax.random.split(key)
    flipped = jax.random.uniform(k_flip, y.shape) < rate
    other = (y + jax.random.randint(k_class, y.shape, 1, CLASSES)) % CLASSES
    return jnp.where(flipped, other, y), flipped


def lr_multiplier(p: OverMemParams, total_steps: int):
    """optax schedule step -> multiple of the peak lr: piecewise x0.1 at 50 % and 75 % of the steps, or
    the cyclic triangle 0 -> 1 at mid-training -> 0 (Wong et al.'s RS-FGSM schedule)."""
    if p.schedule == "piecewise":
        return optax.piecewise_constant_schedule(1.0, {int(0.5 * total_steps): 0.1, int(0.75 * total_steps): 0.1})
    half = total_steps // 2
    return optax.join_schedules([optax.linear_schedule(0.0, 1.0, half), optax.linear_schedule(1.0, 0.0, total_steps - half)], [half])


def optimizer(p: OverMemParams, total_steps: int):
    """SGD with momentum: g + wd w, then the momentum trace, then -lr(t) (traced lr, momentum, wd)."""
    mult = lr_multiplier(p, total_steps)
    return optax.chain(optax.add_decayed_weights(p.weight_decay), optax.trace(decay=p.momentum),
                       optax.scale_by_schedule(lambda count: -p.lr * mult(count)))


def cross_entropy(logits, y):
    """Per-example cross-entropy: logits (..., 10), y (...,) -> (...,)."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)


def train_attack(p: OverMemParams, loss_fn, x, key):
    """The training paradigm's inputs: x itself, FGSM (step_ratio x epsilon, optional random start) or PGD-k."""
    if p.attack == "none":
        return x
    steps = 1 if p.attack == "fgsm" else p.attack_steps
    return adversarial.sign_gradient_attack(loss_fn, x, key, p.epsilon, p.step_ratio * p.epsilon, steps, p.random_start)


def run(p: OverMemParams, key) -> dict[str, jax.Array]:
    """Train one network and log the per-epoch records and final per-sample losses (METRIC_DIMS)."""
    x_tr, y_clean, x_te, y_te = (jnp.asarray(a) for a in digits_split())
    y_tr, noisy = noisy_labels(jax.random.fold_in(key, 0), y_clean, p.noise)
    model = build_model(p)
    k_init, k_train = jax.random.split(jax.random.fold_in(key, 1))
    w0 = init_weights(model, k_init)
    steps = TRAIN_SIZE // p.batch_size
    opt = optimizer(p, p.epochs * steps)

    def losses(w, x, y):
        return cross_entropy(model.apply({"params": w}, x), y)

    def train_step(w, state, xb, yb, removed, active, k):
        k_dom, k_att = jax.random.split(k)
        x_in, weight, _ = dom_inputs(lambda z: losses(w, z, yb), xb, k_dom, active, p)
        weight = jnp.where(removed & (p.variant == PERSISTENCE), 0.0, weight)
        x_adv = train_attack(p, lambda z: losses(w, z, yb), x_in, k_att)

        def objective(w):
            logits = model.apply({"params": w}, x_adv)
            return jnp.mean(weight * cross_entropy(logits, yb)), jnp.mean(jnp.argmax(logits, -1) == yb)

        (_, acc), grad = jax.value_and_grad(objective, has_aux=True)(w)
        updates, state = opt.update(grad, state, w)
        return optax.apply_updates(w, updates), state, acc

    def robust_accuracy(w, k):
        if not p.robust_eval:
            return jnp.float32(jnp.nan)
        x, y = x_te[: p.robust_eval], y_te[: p.robust_eval]
        x_adv = adversarial.pgd(lambda z: losses(w, z, y), x, k, p.epsilon, p.eval_steps, EVAL_STEP_RATIO)
        return jnp.mean(jnp.argmax(model.apply({"params": w}, x_adv), -1) == y)

    def group_mean(values, mask):
        return jnp.sum(jnp.where(mask, values, 0.0)) / jnp.maximum(mask.sum(), 1) + jnp.where(mask.any(), 0.0, jnp.nan)

    def epoch(carry, e):
        w, state, nat, orig, trans, start = carry  # nat: natural losses of the training set at the start of epoch e
        low = nat < p.threshold
        orig = jnp.where(e == p.warmup, low, orig)
        trans = jnp.where(e == p.removal, low & ~orig, trans)
        start = jnp.where(e == p.removal, jnp.stack([group_mean(nat, orig), group_mean(nat, trans)]), start)
        removed = (orig | trans) & (e >= p.removal)
        k_epoch = jax.random.fold_in(k_train, e)
        order = jax.random.permutation(jax.random.fold_in(k_epoch, 0), TRAIN_SIZE)[: steps * p.batch_size].reshape(steps, -1)

        def step(inner, idx_i):
            w, state = inner
            idx, i = idx_i
            w, state, acc = train_step(w, state, x_tr[idx], y_tr[idx], removed[idx], e >= p.warmup, jax.random.fold_in(k_epoch, i + 1))
            return (w, state), acc

        (w, state), accs = jax.lax.scan(step, (w, state), (order, jnp.arange(steps)))
        logits = model.apply({"params": w}, x_tr)
        nat = cross_entropy(logits, y_tr)
        fit = jnp.argmax(logits, -1) == y_tr
        test_acc = jnp.mean(jnp.argmax(model.apply({"params": w}, x_te), -1) == y_te)
        record = dict(test_acc=test_acc, robust_acc=robust_accuracy(w, jax.random.fold_in(k_epoch, steps + 1)),
                      low_loss_share=jnp.mean(nat < p.threshold), noisy_fit=group_mean(fit, noisy), clean_fit=group_mean(fit, ~noisy),
                      train_loss=jnp.mean(nat), train_adv_acc=jnp.mean(accs), orig_loss=group_mean(nat, orig), trans_loss=group_mean(nat, trans))
        return (w, state, nat, orig, trans, start), record

    none = jnp.zeros(TRAIN_SIZE, bool)
    carry = (w0, opt.init(w0), losses(w0, x_tr, y_tr), none, none, jnp.full(2, jnp.nan))
    (w, _, nat, orig, trans, start), records = jax.lax.scan(epoch, carry, jnp.arange(p.epochs))
    k_final = jax.random.fold_in(key, 2)
    x_adv = adversarial.pgd(lambda z: losses(w, z, y_tr), x_tr, k_final, p.epsilon, p.eval_steps, EVAL_STEP_RATIO)
    return {**records, "orig_size": orig.sum(), "trans_size": trans.sum(), "orig_loss_start": start[0],
            "trans_loss_start": start[1], "nat_loss": nat, "adv_loss": losses(w, x_adv, y_tr),
            "noisy": noisy.astype(jnp.float32)}


def coords(p: OverMemParams) -> dict[str, np.ndarray]:
    return {"epoch": np.arange(1, p.epochs + 1), "sample": np.arange(TRAIN_SIZE)}


def _attack_passes(p: OverMemParams) -> int:
    """Forward-backward passes per training sample and step: the update, the training attack's
    gradients and DOM's gamma + 1 forward passes (about a third of a pass each)."""
    attack = {"none": 0, "fgsm": 1, "pgd": p.attack_steps}[p.attack]
    return 1 + attack + (p.gamma + 1) // 3 + 1


def flops_per_config(p: OverMemParams) -> float:
    """6 P FLOPs per sample forward and backward (2 P forward): training, the per-epoch evaluations
    (training and test sets forward, the robust subset with eval_steps gradients) and the final attack."""
    P = param_count(p) * (16 if p.model == "cnn" else 1)  # a conv weight is applied at 64 positions, about 16x its count overall
    train = 6.0 * P * p.epochs * (TRAIN_SIZE // p.batch_size) * p.batch_size * _attack_passes(p)
    evals = p.epochs * (2.0 * P * (TRAIN_SIZE + TEST_SIZE) + 6.0 * P * p.robust_eval * (p.eval_steps + 1))
    return train + evals + 6.0 * P * TRAIN_SIZE * (p.eval_steps + 1)


def bytes_per_config(p: OverMemParams) -> int:
    """Weights, momentum and gradients (4 P), activations of the largest pass (the training set forward)
    times 3, the data, and the per-epoch and per-sample records; float32."""
    width = p.hidden if p.model == "mlp" else 64 * 64
    acts = 3 * (TRAIN_SIZE + TEST_SIZE) * (64 + 2 * width + CLASSES)
    return int(4 * (4 * param_count(p) + acts + (TRAIN_SIZE + TEST_SIZE) * 64 + 10 * p.epochs + 4 * TRAIN_SIZE))
