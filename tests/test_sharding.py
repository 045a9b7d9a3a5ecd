"""Data-parallel training over a device mesh, and over two processes with `jax.distributed`.

Reference: the same config trained on one device (a child process without forced devices). A
PPO run whose environment batch is sharded over 4 forced CPU host devices, one over 2 processes
x 2 devices, and a world-model agent run (env batch and replay buffer sharded) over 2 devices
must give the same metrics, parameters and environment states to float32 round-off (only the
order of the gradient all-reduce differs). Batches that do not split over the devices are
refused before anything is compiled.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest
from run_harness import (
    REPO,
    flat_state,
    hydra_overrides,
    metric_rows,
    run_python,
    subprocess_env,
    tiny_config,
    tiny_wm_config,
)

TRAIN = """
import json, sys
from agents.common.training import config_class, run_training
config, run_dir = (json.loads(a) for a in sys.argv[1:])
run_training(config_class(config).from_dict(config), run_dir)
"""

# Train sharded, keeping the compiled chunk to inspect its shardings and collectives; then try
# batches that do not divide over the devices.
TRAIN_SHARDED = """
import json, sys
import jax
import agents.common.training as run_module
from agents.ppo.config import TrainPPOConfig
config, run_dir, bad_configs = (json.loads(a) for a in sys.argv[1:])
compiled_chunks = []
compile_chunk = run_module.compile_chunk
def keep(*args, **kwargs):
    compiled, seconds = compile_chunk(*args, **kwargs)
    compiled_chunks.append(compiled)
    return compiled, seconds
run_module.compile_chunk = keep
run_module.run_training(TrainPPOConfig.from_dict(config), run_dir)
(compiled,) = compiled_chunks
state_shardings = compiled.input_shardings[0][0]
errors = []
for i, bad in enumerate(bad_configs):
    try:
        run_module.run_training(TrainPPOConfig.from_dict(bad), f"{run_dir}_bad{i}")
        errors.append(None)
    except ValueError as err:
        errors.append(str(err))
print(json.dumps({
    "devices": jax.device_count(),
    "obs_spec": str(state_shardings.obs.spec),
    "params_spec": [str(s.spec) for s in jax.tree.leaves(state_shardings.params)],
    "all_reduce": "all-reduce" in compiled.as_text(),
    "errors": errors,
}))
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A 3-update run on one device: `(config, run dir)`."""
    config = tiny_config(updates=3)
    run_dir = tmp_path_factory.mktemp("single") / "run"
    run_python(TRAIN, config, str(run_dir), devices=1)
    return config, run_dir


def assert_same_run(run_dir, reference_dir, unit: str = "update", count: int = 3) -> None:
    """Same metrics and final state as the reference run, to float32 round-off."""
    rows, expected_rows = metric_rows(run_dir), metric_rows(reference_dir)
    expected_counts = list(range(1, count + 1))
    assert [r[unit] for r in rows] == [r[unit] for r in expected_rows] == expected_counts
    for row, expected in zip(rows, expected_rows, strict=True):
        assert row["metrics"].keys() == expected["metrics"].keys()
        for name, values in expected["metrics"].items():
            got = np.array(row["metrics"][name], dtype=float)
            np.testing.assert_allclose(got, np.array(values, dtype=float), rtol=2e-5, atol=1e-6,
                                       err_msg=f"{unit} {row[unit]} {name}")
    state, expected_state = flat_state(run_dir / "checkpoint.ckpt"), flat_state(
        reference_dir / "checkpoint.ckpt"
    )
    assert state.keys() == expected_state.keys()
    assert any("params/" in k for k in state)  # the parameters are compared
    for key, expected in expected_state.items():
        if np.issubdtype(expected.dtype, np.floating):
            np.testing.assert_allclose(state[key], expected, rtol=2e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(state[key], expected, err_msg=key)


def test_sharded_over_four_devices_matches_one_device(reference, tmp_path):
    config, reference_dir = reference
    bad = [
        tiny_config(algo={"num_envs": 6, "num_minibatches": 1, "total_timesteps": 6 * 8 * 3}),
        tiny_config(algo={"num_minibatches": 4}),  # 8 envs / 4 minibatches = 2 per minibatch
    ]
    out = run_python(TRAIN_SHARDED, config, str(tmp_path / "run"), bad, devices=4)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["devices"] == 4
    # env batch split over the mesh, parameters replicated, gradients all-reduced by XLA
    assert report["obs_spec"] == "P(None, 'data')"
    assert set(report["params_spec"]) == {"P()"}
    assert report["all_reduce"]
    assert_same_run(tmp_path / "run", reference_dir)

    first, second = report["errors"]
    assert first is not None and "algo.num_envs=6" in first and "4 devices" in first
    assert second is not None and "per minibatch" in second and "=2 " in second
    assert not (tmp_path / "run_bad0" / "checkpoint.ckpt").exists()


def test_world_model_agent_sharded_over_two_devices_matches_one_device(tmp_path):
    """The world-model agent through the same `run_training`: env batch, acting state and
    replay buffer split over 2 devices; training starts in iteration 2, so world-model and
    actor-critic gradients are all-reduced too."""
    config = tiny_wm_config(iterations=4)
    run_python(TRAIN, config, str(tmp_path / "single"), devices=1)
    run_python(TRAIN, config, str(tmp_path / "sharded"), devices=2)
    rows = metric_rows(tmp_path / "sharded")
    ready = [r["metrics"]["train/ready"] for r in rows]
    assert ready[0] == [0.0] and ready[-1] == [1.0]
    assert_same_run(tmp_path / "sharded", tmp_path / "single", unit="iteration", count=4)

    bad = tiny_wm_config(agent={"num_envs": 3, "total_timesteps": 48})
    with pytest.raises(AssertionError, match=r"ValueError: agent.num_envs=3 .*2 devices"):
        run_python(TRAIN, bad, str(tmp_path / "bad"), devices=2)
    assert not (tmp_path / "bad" / "config.yaml").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_device(reference, tmp_path):
    """`jax.distributed` on localhost through `scripts/train_ppo.py`: 2 processes x 2 CPU
    devices; only process 0 writes its run directory."""
    config, reference_dir = reference
    port = _free_port()
    procs = []
    for process_id in range(2):
        distributed = {"enabled": True, "coordinator_address": f"localhost:{port}",
                       "num_processes": 2, "process_id": process_id}
        overrides = hydra_overrides({**config, "distributed": distributed})
        run_dir = tmp_path / f"process{process_id}"
        procs.append(subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "train_ppo.py"), *overrides,
             f"hydra.run.dir={run_dir}"],
            env=subprocess_env(devices=2), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        ))
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
    for name in ("config.yaml", "checkpoint.ckpt", "metrics.jsonl"):
        assert not (tmp_path / "process1" / name).exists()
    assert_same_run(tmp_path / "process0", reference_dir)
