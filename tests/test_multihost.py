"""Several processes (jax.distributed on localhost, one CPU device each) give the single-process results."""

import os
import socket
import subprocess
import sys

import numpy as np

from rote.sims import engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rote(args, env_extra, **kw):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "", **env_extra}
    return subprocess.Popen([sys.executable, "-m", "rote.sims.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_two_processes_equal_one(tmp_path):
    args = ["sweep", "grokking", "--scale", "smoke", "--no-progress", "--set", "xi=0.0,0.2,0.4"]
    single = _rote([*args, "--out", str(tmp_path / "single")], {})
    out, err = single.communicate(timeout=600)
    assert single.returncode == 0, err
    port = _free_port()
    procs = [
        _rote([*args, "--out", str(tmp_path / "multi")], {"ROTE_NUM_PROCESSES": "2", "ROTE_PROCESS_ID": str(i), "ROTE_COORDINATOR": f"127.0.0.1:{port}"})
        for i in range(2)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    assert "2x cpu on 2 processes" in engine.load_dataset(tmp_path / "multi" / "results.nc").attrs["device"].lower()
    a = engine.load_dataset(tmp_path / "single" / "results.nc")
    b = engine.load_dataset(tmp_path / "multi" / "results.nc")
    compared = [name for name in ("train_acc", "test_acc", "ipr") if name in a]
    assert compared
    for name in compared:
        np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-5, atol=1e-6)


def test_bad_distributed_environment_is_one_line(tmp_path):
    p = _rote(["sweep", "grokking", "--scale", "smoke", "--out", str(tmp_path)], {"ROTE_NUM_PROCESSES": "2", "ROTE_PROCESS_ID": "x", "ROTE_COORDINATOR": "127.0.0.1:1"})
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2 and err.strip().count("\n") == 0 and "ROTE_PROCESS_ID" in err
