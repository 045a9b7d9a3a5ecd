"""Shared by the scale-out and fault tests: a tiny PPO config, Python subprocesses with their own
XLA flags (device count, multi-process), and checkpoint comparison.

Subprocesses inherit `JAX_COMPILATION_CACHE_DIR` (CI sets it); without it they use the repo's
`.jax_cache`, so identical programs compile once across the processes of a test session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from agents.common.checkpoint import read_checkpoint

REPO = Path(__file__).resolve().parents[1]


def tiny_config(updates: int = 3, **sections: dict[str, Any]) -> dict[str, Any]:
    """A PPO config (plain nested dict) that compiles fast: GRU d_model 8, 8 envs x 8 steps,
    one epoch of 2 minibatches, `updates` updates, one update per chunk, no TensorBoard/bar.
    `sections` update the nested dicts (e.g. `algo={"num_envs": 6}`)."""
    config: dict[str, Any] = {
        "env": {"id": "RepeatPreviousEasy"},
        "model": {"name": "gru", "d_model": 8},
        "network": {"head_hidden": 8},
        "algo": {"total_timesteps": 8 * 8 * updates, "num_envs": 8, "num_steps": 8,
                 "update_epochs": 1, "num_minibatches": 2},
        "logger": {"updates_per_chunk": 1, "tensorboard": False, "progress_bar": False,
                   "checkpoint": True},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values} if isinstance(values, dict) else values
    return config


def tiny_wm_config(iterations: int = 4, **sections: dict[str, Any]) -> dict[str, Any]:
    """A world-model agent config (plain nested dict) that compiles fast: GRU d_model 16,
    4x4 latents, 4 envs x 4 steps per iteration, training from iteration 2 (prefill 8), two
    iterations per chunk, no TensorBoard/bar. `sections` update the nested dicts."""
    config: dict[str, Any] = {
        "env": {"id": "RepeatFirstEasy", "previous_action": False},
        "model": {"name": "gru", "d_model": 16},
        "world_model": {"latent_groups": 4, "latent_classes": 4, "width": 16, "mlp_layers": 1,
                        "reward_bins": 15},
        "agent": {"total_timesteps": 16 * iterations, "num_envs": 4,
                  "env_steps_per_iteration": 4, "updates_per_iteration": 1, "prefill": 8,
                  "replay_capacity": 32, "batch_size": 2, "batch_length": 8, "imag_batch": 4,
                  "imag_context": 4, "horizon": 3, "actor_width": 16, "actor_layers": 1},
        "logger": {"updates_per_chunk": 2, "tensorboard": False, "progress_bar": False},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values} if isinstance(values, dict) else values
    return config


def hydra_overrides(config: dict[str, Any]) -> list[str]:
    """`scripts/train_ppo.py` overrides for a nested config dict (model name -> model group),
    with `preset=paper` (the schema defaults, what `from_dict` starts from) so that the
    script does not choose the machine's preset."""
    literal = lambda v: "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    overrides = ["preset=paper"]
    for section, values in config.items():
        if section == "model":
            overrides.append(f"model={values['name']}")
            values = {k: v for k, v in values.items() if k != "name"}
        if isinstance(values, dict):
            overrides += [f"{section}.{k}={literal(v)}" for k, v in values.items()]
        else:
            overrides.append(f"{section}={literal(values)}")
    return overrides


def subprocess_env(devices: int = 1) -> dict[str, str]:
    """Environment for a child JAX process on CPU with `devices` forced host devices."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO / ".jax_cache"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    env.pop("JAX_COORDINATOR_ADDRESS", None)
    env.pop("JAX_NUM_PROCESSES", None)
    env.pop("JAX_PROCESS_ID", None)
    return env


def python_command(code: str, *args: Any) -> list[str]:
    """`python -c <dedented code> <args as JSON>`; the code reads them from `sys.argv[1:]`."""
    return [sys.executable, "-c", textwrap.dedent(code), *(json.dumps(a) for a in args)]


def run_python(code: str, *args: Any, devices: int = 1, timeout: float = 300) -> str:
    """Run `code` in a child process; returns its stdout, raises with its stderr on failure."""
    result = subprocess.run(
        python_command(code, *args), env=subprocess_env(devices), cwd=REPO,
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"child process failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return result.stdout


def flat_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A checkpoint's state as `{"/path/to/leaf": array}`."""
    _, state = read_checkpoint(path)
    flat: dict[str, np.ndarray] = {}

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                visit(value, f"{where}/{key}")
        else:
            flat[where] = np.asarray(node)

    visit(state, "")
    return flat


def metric_rows(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """metrics.jsonl rows without wall-clock fields (time, perf/*)."""
    rows = []
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        row.pop("time")
        row["metrics"] = {k: v for k, v in row["metrics"].items() if not k.startswith("perf/")}
        rows.append(row)
    return rows
