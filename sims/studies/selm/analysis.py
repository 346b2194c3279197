"""Summaries of `selm` results (xarray, numpy; no JAX).

Each panel's Dataset holds, per config (one encryption), the ciphertext theta (d_max,) with its key (the
``seed`` coordinate) and message tokens, the steps to converge, whether it converged, whether the
greedy decode reproduced the message under the right and under a wrong key, and accuracies. From them:
the ciphertexts of a game message (``ciphertexts``; ``export_ciphertexts`` writes them with their keys and
messages to one .npz), median steps per cell, the capacity (largest L decryptable) per d, and rates.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import xarray as xr

from ...atomic import atomic_write
from ...dataset import annotate
from ...errors import ConfigError
from .params import SelmParams

VARIABLES = {
    "theta": ("1", "ciphertext theta_d (entries past d are 0)"),
    "tokens": ("1", "prompt + message + EOS (EOS padding) token ids"),
    "target": ("1", "position is a target of the encryption (message or EOS), 0/1"),
    "decoded": ("1", "greedy decode under the key (prompt included)"),
    "wrong_decoded": ("1", "greedy decode under a wrong key (prompt included)"),
    "steps": ("1", "Adam steps until the teacher-forced argmax matched (the budget if never)"),
    "converged": ("1", "the encryption matched within the budget (0/1)"),
    "exact": ("1", "greedy decode under the key reproduces prompt, message and EOS (0/1)"),
    "wrong_exact": ("1", "greedy decode under a wrong key reproduces them (0/1)"),
    "accuracy": ("1", "teacher-forced per-token accuracy on message and EOS under the key"),
    "wrong_accuracy": ("1", "teacher-forced per-token accuracy under a wrong key"),
    "base_accuracy": ("1", "teacher-forced per-token accuracy of the public model alone (theta_d = 0)"),
    "loss": ("nats", "cross-entropy per target token at the last step"),
    "norm": ("1", "L2 norm of theta_d"),
    "coordinate": ("1", "coordinate of theta_d"),
    "position": ("1", "position in the context"),
    "diverged": ("1", "the config produced a non-finite metric"),
}


def params_of(ds: xr.Dataset) -> SelmParams:
    try:
        base = json.loads(ds.attrs["config"])["base"]
        return SelmParams(**{k: v for k, v in base.items() if k in SelmParams.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"results hold no selm configuration ({type(exc).__name__}: {exc})") from None


def summarize(ds: xr.Dataset) -> xr.Dataset:
    return annotate(ds, VARIABLES)


def _flat(ds: xr.Dataset) -> xr.Dataset:
    """Every config axis stacked into one 'config' dim."""
    axes = [d for d in ds["steps"].dims]
    return ds.stack(config=axes) if axes else ds.expand_dims("config")


def d_of(ds: xr.Dataset) -> np.ndarray:
    """Per config (flattened) its d."""
    flat = _flat(ds)
    if "d" in flat.coords:
        return np.asarray(flat["d"].values, int)
    return np.full(flat.sizes["config"], params_of(ds).d)


def ciphertexts(ds: xr.Dataset, converged_only: bool = True) -> dict[str, np.ndarray]:
    """{'theta': (n, d), 'key': (n,), 'message': (n, context), 'converged': (n,)} of a game panel (one message, a
    seed axis of keys); only the converged encryptions by default (the paper's ciphertexts)."""
    if "theta" not in ds or "seed" not in ds["theta"].dims:
        raise ConfigError("results hold no ciphertexts (theta over seed); re-run `rote sweep selm`")
    flat = _flat(ds)
    d = d_of(ds)
    if len(set(d.tolist())) != 1:
        raise ConfigError(f"a game panel needs one d, got {sorted(set(d.tolist()))}")
    keep = flat["converged"].values > 0.5 if converged_only else np.ones(flat.sizes["config"], bool)
    theta = flat["theta"].transpose("config", "coordinate").values[:, : d[0]]
    return {"theta": theta[keep], "key": np.asarray(flat["seed"].values)[keep],
            "message": flat["tokens"].transpose("config", "position").values[keep], "converged": flat["converged"].values[keep]}


def game_ciphertexts(evidence, cells, variant: str) -> dict[str, np.ndarray]:
    """{message: (n, d) converged ciphertexts} of one variant's game panels."""
    return {m: ciphertexts(evidence[cells.panel(variant, m)])["theta"] for m in cells.messages}


def export_ciphertexts(evidence, cells, path) -> Path:
    """Write every game ciphertext with its key, message tokens and convergence flag to one .npz (atomic), named
    VARIANT/MESSAGE/{theta,key,message,converged}; a new attacker re-reads it without re-encrypting."""
    arrays = {}
    for variant in cells.variants:
        for m in cells.messages:
            for k, v in ciphertexts(evidence[cells.panel(variant, m)], converged_only=False).items():
                arrays[f"{variant}/{m}/{k}"] = v
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def load_ciphertexts(path) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """{variant: {message: {theta, key, message, converged}}} from ``export_ciphertexts``' file."""
    out: dict = {}
    with np.load(path) as f:
        for name in f.files:
            variant, message, k = name.split("/")
            out.setdefault(variant, {}).setdefault(message, {})[k] = f[name]
    return out


def median_steps(ds: xr.Dataset) -> xr.DataArray:
    """Median steps over the seed axis (a non-converged encryption counts as the budget: a lower bound)."""
    return ds["steps"].median("seed")


def capacity(ds: xr.Dataset) -> xr.DataArray:
    """Per d: the largest L at which every seed's encryption converged and decrypts exactly (0 if none)."""
    ok = ((ds["converged"] > 0.5) & (ds["exact"] > 0.5)).all("seed")
    lengths = ds["length"].values
    caps = [int(max([L for L, good in zip(lengths, ok.sel(d=d).values) if good], default=0)) for d in ds["d"].values]
    return xr.DataArray(caps, dims="d", coords={"d": ds["d"].values}, name="capacity")
