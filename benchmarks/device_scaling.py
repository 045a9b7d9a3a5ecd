"""Device-scaling study: env-steps/s of data-parallel recurrent PPO against the device count.

The timed program is exactly the one `agents.common.training.run_training` runs: `compile_run`
builds the chunk of PPO updates over a mesh of all devices with the env batch sharded and the
gradients all-reduced by XLA. Each device count runs in a fresh process (XLA reads its flags
once per process): on CPU `--xla_force_host_platform_device_count=n` (the devices share the
cores, so this checks the sharded program, not a speedup), on GPU the first n GPUs. Strong
scaling keeps `PPOWorkload.envs` environments in all, weak scaling gives each device that many.
`scripts/bench_scaling.py --study devices` is the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np

from benchmarks.timing import timed_call
from ssm_rl.memory import layer_class


@dataclasses.dataclass(frozen=True)
class PPOWorkload:
    """The PPO run each worker times: memory `model` of width `d_model`, `envs` environments
    (all of them, or per device under weak scaling), rollouts of `steps`, `updates` updates per
    timed chunk."""

    model: str = "s5"
    d_model: int = 64
    envs: int = 64
    steps: int = 128
    minibatches: int = 2
    updates: int = 5

    def config(self, devices: int, scaling: str) -> dict[str, Any]:
        """The `TrainPPOConfig.from_dict` input for `devices` devices."""
        envs = self.envs * (devices if scaling == "weak" else 1)
        model = {"name": self.model, "d_model": self.d_model}
        if "state_size" in {f.name for f in dataclasses.fields(layer_class(self.model))}:
            model["state_size"] = self.d_model
        return {
            "model": model,
            "network": {"head_hidden": self.d_model},
            "algo": {"num_envs": envs, "num_steps": self.steps, "update_epochs": 2,
                     "num_minibatches": self.minibatches,
                     "total_timesteps": envs * self.steps * self.updates},
        }


def default_device_counts(device: str) -> list[int]:
    """Powers of two up to the machine: its cores on CPU, its GPUs on GPU."""
    limit = len(jax.devices()) if device == "gpu" else (os.cpu_count() or 1)
    return [2**k for k in range(int(math.log2(limit)) + 1)]


def time_sharded_ppo(config: dict[str, Any], devices: int, updates: int,
                     repeats: int) -> dict[str, Any]:
    """In a process that sees `devices` devices: compile the PPO chunk as `run_training` does
    and time `repeats` chunks of `updates` updates after one warm-up."""
    from agents.common.distributed import data_mesh
    from agents.common.trainer import seed_keys
    from agents.common.training import check_mesh, compile_run, make_trainer
    from agents.ppo.config import TrainPPOConfig

    train_config = TrainPPOConfig.from_dict(config)
    algo = train_config.algo
    mesh = data_mesh()
    if mesh.size != devices:
        raise RuntimeError(f"worker sees {mesh.size} devices, expected {devices}")
    ppo = make_trainer(train_config)
    check_mesh(ppo, mesh)
    compiled, compile_s, state = compile_run(ppo, ppo.init_seeds(seed_keys(train_config)),
                                             updates, mesh, donate=False)
    n = np.int32(updates)
    timed_call(compiled, state, n)  # warm-up
    times = [timed_call(compiled, state, n) for _ in range(repeats)]
    seconds = statistics.median(times)
    return {
        "devices": mesh.size,
        "num_envs": algo.num_envs,
        "envs_per_device": algo.num_envs // mesh.size,
        "compile_s": compile_s,
        "times_s": times,
        "time_s": seconds,
        "steps_per_s": updates * algo.num_envs * algo.num_steps / seconds,
        "updates_per_s": updates / seconds,
    }


def _worker_environment(device: str, devices: int) -> dict[str, str]:
    env = dict(os.environ)
    if device == "gpu":
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(devices))
    else:
        flags = [f for f in env.get("XLA_FLAGS", "").split()
                 if not f.startswith("--xla_force_host_platform_device_count")]
        env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])
    return env


def run_devices_study(workload: PPOWorkload, counts: list[int], scaling: str, device: str,
                      repeats: int) -> dict[str, Any]:
    """One worker process per device count; records with speedup and efficiency against the
    first count."""
    records = []
    for n in counts:
        config = workload.config(n, scaling)
        per_minibatch = config["algo"]["num_envs"] // workload.minibatches
        if per_minibatch % n:
            raise ValueError(f"{per_minibatch} environments per minibatch do not split over {n} "
                             f"devices; choose --ppo-envs / --ppo-minibatches accordingly")
        spec = {"device": device, "devices": n, "config": config, "updates": workload.updates,
                "repeats": repeats}
        command = [sys.executable, "-m", "benchmarks.device_scaling", json.dumps(spec)]
        done = subprocess.run(command, env=_worker_environment(device, n), capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode != 0:
            raise RuntimeError(f"worker for {n} devices failed:\n{done.stderr[-3000:]}")
        record = json.loads(done.stdout.strip().splitlines()[-1])
        records.append(record)
        print(f"{n:>3} devices: {record['steps_per_s']:12.0f} env-steps/s  "
              f"compile {record['compile_s']:6.1f} s", flush=True)
    base = records[0]
    for r in records:
        r["speedup"] = r["steps_per_s"] / base["steps_per_s"]
        r["efficiency"] = r["speedup"] / (r["devices"] / base["devices"])
    return {
        "records": records,
        "time_measure": "median wall time of a compiled chunk of --ppo-updates updates after "
                        "one warm-up, block_until_ready; env-steps = updates x envs x steps",
        "note": "forced CPU host devices share the machine's cores and one thread pool: they "
                "test the sharded program, they do not add compute" if device == "cpu"
                else "",
    }


def print_devices_report(result: dict[str, Any]) -> None:
    config = result["config"]
    print(f"\nData-parallel PPO ({config['scaling']} scaling), {config['ppo_model']} "
          f"d_model {config['ppo_d_model']}, T = {config['ppo_steps']}, on {result['device']}")
    header = ("devices", "envs", "envs/dev", "env-steps/s", "speedup", "efficiency", "compile s")
    print("".join(h.rjust(13) for h in header))
    for r in result["records"]:
        cells = (r["devices"], r["num_envs"], r["envs_per_device"], f"{r['steps_per_s']:.0f}",
                 f"{r['speedup']:.2f}", f"{r['efficiency']:.2f}", f"{r['compile_s']:.1f}")
        print("".join(str(c).rjust(13) for c in cells))
    if result["note"]:
        print(f"note: {result['note']}")


def plot_devices_study(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = result["records"]
    devices = [r["devices"] for r in records]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(devices, [r["steps_per_s"] for r in records], marker="o", label="measured")
    base = records[0]
    ideal = [base["steps_per_s"] * d / base["devices"] for d in devices]
    ax.plot(devices, ideal, "--", color="gray", label="linear")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("devices")
    ax.set_ylabel("env-steps / s")
    ax.set_title(f"Data-parallel PPO, {result['config']['scaling']} scaling, {result['device']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)




if __name__ == "__main__":  # one device count, in its own process (see run_devices_study)
    spec = json.loads(sys.argv[1])
    jax.config.update("jax_platforms", "cuda" if spec["device"] == "gpu" else "cpu")
    jax.config.update("jax_enable_compilation_cache", False)  # compile times must be real
    print(json.dumps(time_sharded_ppo(spec["config"], spec["devices"], spec["updates"],
                                      spec["repeats"])))
