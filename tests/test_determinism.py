"""Same seed, same config, same machine: identical metrics and parameters.

Two child processes train the same config; their metrics.jsonl rows (wall-clock fields dropped)
and every leaf of the final checkpoint must be equal bit for bit. A third run with
another seed must differ, so the comparison can fail. The `deterministic` option is checked for
what it does: the XLA flags in the environment before the backend starts, and a clear error
when a GPU backend already started without them.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from run_harness import flat_state, metric_rows, python_command, subprocess_env, tiny_config

from agents.common import determinism
from agents.common.determinism import DETERMINISTIC_XLA_FLAGS, enable_deterministic_ops

TRAIN_RUNS = """
import json, sys
from agents.ppo.config import TrainPPOConfig
from agents.common.training import run_training
for config, run_dir in json.loads(sys.argv[1]):
    run_training(TrainPPOConfig.from_dict(config), run_dir)
"""


def test_same_seed_same_config_gives_identical_runs(tmp_path):
    config = tiny_config(updates=3)
    children = [
        [(config, str(tmp_path / "a")), ({**config, "seed": 1}, str(tmp_path / "other_seed"))],
        [(config, str(tmp_path / "b"))],
    ]
    procs = [
        subprocess.Popen(python_command(TRAIN_RUNS, runs), env=subprocess_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for runs in children
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]

    rows_a, rows_b = metric_rows(tmp_path / "a"), metric_rows(tmp_path / "b")
    assert [r["update"] for r in rows_a] == [1, 2, 3]
    assert json.dumps(rows_a) == json.dumps(rows_b)  # every float, bit for bit
    state_a, state_b = flat_state(tmp_path / "a/checkpoint.ckpt"), flat_state(
        tmp_path / "b/checkpoint.ckpt"
    )
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert state_a[key].tobytes() == state_b[key].tobytes(), key

    other = flat_state(tmp_path / "other_seed/checkpoint.ckpt")
    params = [k for k in state_a if k.startswith("/params/")]
    assert params and any(not np.array_equal(state_a[k], other[k]) for k in params)


def test_deterministic_flags_are_added_once(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    enable_deterministic_ops()
    enable_deterministic_ops()
    flags = determinism.os.environ["XLA_FLAGS"].split()
    assert flags == ["--xla_force_host_platform_device_count=2", *DETERMINISTIC_XLA_FLAGS]


def test_deterministic_too_late_on_gpu_is_a_clear_error(monkeypatch):
    from jax._src import xla_bridge

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: True)
    monkeypatch.setattr(determinism.jax, "default_backend", lambda: "gpu")
    with pytest.raises(RuntimeError, match="before the GPU backend starts"):
        enable_deterministic_ops()
