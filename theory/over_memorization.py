"""Closed forms for the `over-memorization` study's attack checks (numpy; no training).

A linear binary classifier with margin m(x) = y (w . x + b), y in {-1, +1}, and any loss that falls
with the margin (logistic, hinge): over the L-inf ball of radius epsilon (Goodfellow, Shlens, Szegedy,
arXiv 1412.6572, Sec. 3; the L-inf threat model of Lin, Yu, Han, Liu, ICLR 2024, arXiv 2310.08847,
experimental settings) the margin is linear in the perturbation, so its minimum is reached at a corner:

    delta* = -epsilon y sign(w),        min_delta m(x + delta) = m(x) - epsilon ||w||_1,

as long as x + delta* stays inside the [0, 1] pixel box. FGSM with step epsilon (no random start) and
PGD from any start inside the ball both land exactly on delta* here, which the tests check.
"""

from __future__ import annotations

import numpy as np


def linear_worst_case(w, x, y, epsilon):
    """The worst L-inf perturbation of a linear binary classifier: w (d,), x (B, d), y (B,) in {-1, +1}
    -> x + delta* (B, d) with delta* = -epsilon y sign(w) (valid when x +- epsilon lies in [0, 1])."""
    w, x, y = (np.asarray(a, float) for a in (w, x, y))
    return x - epsilon * y[:, None] * np.sign(w)[None, :]


def linear_worst_margin(w, x, y, bias, epsilon):
    """(B,) the smallest margin over the ball: y (w . x + b) - epsilon ||w||_1."""
    w, x, y = (np.asarray(a, float) for a in (w, x, y))
    return y * (x @ w + bias) - epsilon * np.abs(w).sum()


def logistic_worst_loss(w, x, y, bias, epsilon):
    """(B,) the largest logistic loss log(1 + exp(-m)) over the ball (the loss falls with the margin)."""
    return np.logaddexp(0.0, -linear_worst_margin(w, x, y, bias, epsilon))
