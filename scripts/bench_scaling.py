#!/usr/bin/env python
"""Scaling studies of the memory models (the S5 RL paper's speed claims, reproduced).

    python scripts/bench_scaling.py                       # --study length on CPU, full sweep
    python scripts/bench_scaling.py --quick               # tiny sizes: checks the script (minutes)
    python scripts/bench_scaling.py --device gpu          # the same on an accelerator

`--study length` (the default): for S5, LRU, Mamba-style selective SSM, GRU, LSTM and the
causal Transformer at a matched parameter count (each model's width is searched so that its
parameter count is the closest to `--params`; the counts are printed and stored), and for
sequence lengths T = 2^7 .. 2^16 at batch 8 and 64, it measures

- forward (`y = memory(carry, x, reset)`) and forward+backward (gradient of mean(y^2) w.r.t.
  all parameters) wall time: median of repeated calls of the compiled function after one
  warm-up call, each call ended by `block_until_ready`;
- compile time: `jit(f).lower(...).compile()` wall time (the persistent cache is disabled);
- peak memory: XLA's buffer assignment of the compiled function, `memory_analysis()`:
  argument + output + temp - alias bytes. It counts every buffer the executable allocates
  (the inputs, among them a Transformer's KV cache, included) and is what decides an
  out-of-memory; it excludes the Python process and allocator slack. It is known before the
  call, so a configuration predicted above `--memory-limit-gb` is not run.

SSMs run with both scan backends (sequential and associative). The Transformer's window is the
sequence length (full causal context; its sequence mode also holds a W-step KV cache); it
attends in query blocks of 128 (memory linear in T, `ssm_rl/layers/transformer.py`), and
`transformer_dense` is the same model scoring the whole T x (W + T) matrix at once. A
series (model, batch, mode) stops at the first length that runs out of memory or whose next
call is predicted to exceed `--time-limit`, and the report says so. It then fits the log-log
slope of time and memory against T (lengths >= `--fit-min-length`) and finds the length where
S5 overtakes the Transformer. Results: `<out>/scaling_<study>_<device>.json` and `.png`.

`--study devices`: steps/s of data-parallel recurrent PPO (the `run_training` program: env
batch sharded over a mesh of all devices, gradients all-reduced by XLA) against the device
count, each count in a fresh process: on CPU `--xla_force_host_platform_device_count=n` (the
devices share the cores, so this checks the sharded program, not a speedup), on GPU the first
n GPUs. Strong scaling keeps `--ppo-envs` environments in all, weak scaling gives each device
`--ppo-envs`. Table of env-steps/s, speedup and efficiency, plus JSON and a plot:

    python scripts/bench_scaling.py --study devices --quick          # 1, 2 CPU devices, tiny
    python scripts/bench_scaling.py --study devices --device gpu --scaling weak

Further studies plug into `STUDIES`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from benchlib import timed_call, timed_compile

from ssm_rl.memory import available_memories, layer_class, make_memory
from ssm_rl.scan import BACKENDS, default_backend

MODES: tuple[str, ...] = ("forward", "forward+backward")
WIDTH_STEP = 8  # widths are searched in multiples of 8 (Transformer heads divide them)
INPUT_DIM = 32
RESET_PROBABILITY = 1 / 128


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How a model is sized: fixed options plus fields tied to the searched width."""

    name: str
    options: dict[str, Any]
    tied_to_width: tuple[str, ...] = ()
    window_is_length: bool = False


MODEL_SPECS: dict[str, ModelSpec] = {
    "s5": ModelSpec("s5", {"num_layers": 2}, tied_to_width=("state_size",)),
    "lru": ModelSpec("lru", {"num_layers": 2}, tied_to_width=("state_size",)),
    "mamba": ModelSpec("mamba", {"num_layers": 2}),
    "gru": ModelSpec("gru", {}),  # one plain layer (the layer's stack defaults)
    "lstm": ModelSpec("lstm", {}),
    "transformer": ModelSpec(
        "transformer", {"num_layers": 2, "num_heads": 4}, window_is_length=True
    ),
    # The same Transformer scoring all T x (W + T) pairs at once: plain attention's memory.
    "transformer_dense": ModelSpec(
        "transformer", {"num_layers": 2, "num_heads": 4, "query_block": None}, window_is_length=True
    ),
}


@dataclasses.dataclass
class Series:
    """One curve of the study: a sized model, with a scan backend for SSMs."""

    label: str
    spec: ModelSpec
    options: dict[str, Any]
    parameters: int

    def memory(self, length: int):
        extra = {"window": length} if self.spec.window_is_length else {}
        return make_memory(self.spec.name, **self.options, **extra)


# ----------------------------------------------------------------------------- sizing


def _inputs(batch: int, length: int, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    """`x[T, B, INPUT_DIM]` normal, `reset[T, B]` with episode starts at rate 1/128."""
    kx, kr = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (length, batch, INPUT_DIM), jnp.float32)
    reset = jax.random.bernoulli(kr, RESET_PROBABILITY, (length, batch)).at[0].set(True)
    return x, reset


def _spec_options(spec: ModelSpec, width: int) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(layer_class(spec.name))}
    tied = {name: width for name in spec.tied_to_width if name in fields}
    return {**spec.options, **tied, "d_model": width}


def count_parameters(memory) -> int:
    """Number of scalars in `memory`'s parameters (shapes only, nothing is computed)."""
    x, reset = _inputs(1, 2)
    carry = memory.initialize_carry((1,))
    shapes = jax.eval_shape(memory.init, jax.random.key(0), carry, x, reset)
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes))


def match_width(spec: ModelSpec, target: int, max_width: int = 4096) -> tuple[dict, int]:
    """Options (width a multiple of 8) whose parameter count is closest to `target`."""

    def count(width: int) -> int:
        extra = {"window": 2} if spec.window_is_length else {}
        return count_parameters(make_memory(spec.name, **_spec_options(spec, width), **extra))

    lo, hi = 1, max_width // WIDTH_STEP  # bisection on width / 8; counts grow with width
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid * WIDTH_STEP) < target:
            lo = mid + 1
        else:
            hi = mid
    candidates = {w * WIDTH_STEP for w in (lo - 1, lo) if w >= 1}
    best = min(candidates, key=lambda w: abs(count(w) - target))
    return _spec_options(spec, best), count(best)


def build_series(models: list[str], target: int, backends: tuple[str, ...]) -> list[Series]:
    series = []
    for label in models:
        spec = MODEL_SPECS[label]
        options, parameters = match_width(spec, target)
        fields = {f.name for f in dataclasses.fields(layer_class(spec.name))}
        if "backend" in fields:
            for backend in backends:
                series.append(
                    Series(f"{label}[{backend}]", spec, {**options, "backend": backend}, parameters)
                )
        else:
            series.append(Series(label, spec, options, parameters))
    return series


# ------------------------------------------------------------------------ measurement


@dataclasses.dataclass
class Limits:
    time_s: float  # timing budget per configuration (compile excluded)
    memory_bytes: int
    repeats: int


def _functions(memory) -> dict[str, Callable]:
    def forward(params, carry, x, reset):
        return memory.apply(params, carry, x, reset)[1]

    def loss(params, carry, x, reset):
        return jnp.mean(forward(params, carry, x, reset) ** 2)

    return {"forward": forward, "forward+backward": jax.grad(loss)}


def _footprint(compiled) -> int:
    stats = compiled.memory_analysis()
    return int(
        stats.argument_size_in_bytes
        + stats.output_size_in_bytes
        + stats.temp_size_in_bytes
        - stats.alias_size_in_bytes
    )


def measure(fn: Callable, args: tuple, limits: Limits) -> dict[str, Any]:
    """Compile, check the footprint, warm up, then time `fn(*args)` within the limits."""
    compiled, compile_s = timed_compile(fn, *args)
    record: dict[str, Any] = {"compile_s": compile_s}
    record["memory_bytes"] = _footprint(compiled)
    if record["memory_bytes"] > limits.memory_bytes:
        record["status"] = "oom"
        record["note"] = (
            f"compiled footprint {record['memory_bytes'] / 2**20:.1f} MiB > limit "
            f"{limits.memory_bytes / 2**20:.1f} MiB; not run"
        )
        return record
    try:
        times = [timed_call(compiled, *args)]  # the warm-up call, dropped if there are more
        budget_end = time.perf_counter() + limits.time_s
        repeats = []
        while len(repeats) < limits.repeats and time.perf_counter() + times[-1] < budget_end:
            repeats.append(timed_call(compiled, *args))
            times.append(repeats[-1])
    except jax.errors.JaxRuntimeError as err:
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        record.update(status="oom", note=str(err).splitlines()[0][:200])
        return record
    record["times_s"] = repeats or times
    record["time_s"] = statistics.median(record["times_s"])
    record["status"] = "ok"
    return record


def _predicted_next_time(previous: list[dict[str, Any]]) -> float | None:
    """Time of the next (doubled) length from the last two: growth at least 2x per doubling."""
    ok = [r for r in previous if r["status"] == "ok"]
    if not ok:
        return None
    growth = 2.0
    if len(ok) >= 2 and ok[-2]["time_s"] > 0:
        growth = max(growth, ok[-1]["time_s"] / ok[-2]["time_s"])
    return ok[-1]["time_s"] * growth


def run_series(
    series: Series, batch: int, lengths: list[int], limits: Limits, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """All lengths of one model at one batch size, both modes; stops a mode when it fails."""
    records: list[dict[str, Any]] = []
    stopped: dict[str, str] = {}
    params = None
    for length in lengths:
        memory = series.memory(length)
        x, reset = _inputs(batch, length)
        carry = memory.initialize_carry((batch,))
        if params is None:  # parameters do not depend on the length (nor the window)
            params = memory.init(jax.random.key(1), carry, x[:2], reset[:2])
        functions = _functions(memory)
        for mode in MODES:
            base = {"model": series.label, "batch": batch, "length": length, "mode": mode}
            if mode in stopped:
                records.append({**base, "status": "skipped", "note": stopped[mode]})
                continue
            predicted = _predicted_next_time(
                [r for r in records if r["mode"] == mode and r["status"] == "ok"]
            )
            if predicted is not None and predicted > limits.time_s:
                note = f"next call predicted {predicted:.3g} s > --time-limit {limits.time_s:g} s"
                record = {**base, "status": "time", "note": note}
            else:
                record = {**base, **measure(functions[mode], (params, carry, x, reset), limits)}
            records.append(record)
            if record["status"] != "ok":
                stopped[mode] = f"{record['status']} at T={length}"
            log(_describe(record))
    return records


def _describe(r: dict[str, Any]) -> str:
    head = f"{r['model']:>26} B={r['batch']:<3} T={r['length']:<6} {r['mode']:<16}"
    if r["status"] != "ok":
        return f"{head} {r['status']}: {r.get('note', '')}"
    return (
        f"{head} {r['time_s'] * 1e3:10.2f} ms  compile {r['compile_s']:6.1f} s  "
        f"{r['memory_bytes'] / 2**20:9.1f} MiB"
    )


# -------------------------------------------------------------------------- analysis


def _ok(records, model, batch, mode) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r["model"] == model and r["batch"] == batch and r["mode"] == mode and r["status"] == "ok"
    ]


def loglog_slope(lengths: list[int], values: list[float]) -> float | None:
    """Least-squares slope of log(value) against log(length); None with fewer than 2 points."""
    if len(lengths) < 2:
        return None
    return float(np.polyfit(np.log(lengths), np.log(values), 1)[0])


def fit_slopes(records, models, batches, fit_min_length: int) -> dict[str, Any]:
    """Per model, batch and mode: time and memory slopes over lengths >= fit_min_length."""
    slopes: dict[str, Any] = {}
    for model in models:
        for batch in batches:
            for mode in MODES:
                points = _ok(records, model, batch, mode)
                points = [r for r in points if r["length"] >= fit_min_length]
                lengths = [r["length"] for r in points]
                slopes.setdefault(model, {}).setdefault(str(batch), {})[mode] = {
                    "time": loglog_slope(lengths, [r["time_s"] for r in points]),
                    "memory": loglog_slope(lengths, [r["memory_bytes"] for r in points]),
                    "lengths": lengths,
                }
    return slopes


def crossover(records, model, reference, batch, mode) -> dict[str, Any]:
    """Length above which `model` is faster than `reference` (log-log interpolation)."""
    mine = {r["length"]: r["time_s"] for r in _ok(records, model, batch, mode)}
    theirs = {r["length"]: r["time_s"] for r in _ok(records, reference, batch, mode)}
    common = sorted(set(mine) & set(theirs))
    result: dict[str, Any] = {"model": model, "reference": reference, "batch": batch, "mode": mode}
    ref_stop = [
        r
        for r in records
        if r["model"] == reference and r["batch"] == batch and r["mode"] == mode
        and r["status"] in ("oom", "time")
    ]
    if ref_stop:
        result["reference_stopped"] = f"{ref_stop[0]['status']} at T={ref_stop[0]['length']}"
    if not common:
        result.update(length=None, text="no common lengths")
        return result
    ratio = [mine[t] / theirs[t] for t in common]
    k = len(common)
    while k > 0 and ratio[k - 1] < 1:
        k -= 1  # ratio < 1 (model faster) for every length from common[k] on
    if k == len(common):
        result.update(length=None, text=f"{reference} faster at every common T <= {common[-1]}")
    elif k == 0:
        result.update(length=common[0], text=f"{model} faster at every common T >= {common[0]}")
    else:
        lo, hi = common[k - 1], common[k]
        r_lo, r_hi = math.log(ratio[k - 1]), math.log(ratio[k])
        at = math.exp(math.log(lo) + (0 - r_lo) / (r_hi - r_lo) * (math.log(hi) - math.log(lo)))
        result.update(length=at, text=f"{model} overtakes {reference} at T ~ {at:.0f}")
    return result


# --------------------------------------------------------------------------- reports


def _table(records, models, batch, mode, key, fmt) -> str:
    lengths = sorted({r["length"] for r in records if r["batch"] == batch})
    width = max(12, *(len(m) + 1 for m in models))
    lines = ["T".rjust(7) + "".join(m.rjust(width) for m in models)]
    for length in lengths:
        cells = []
        for model in models:
            found = [
                r
                for r in records
                if (r["model"], r["batch"], r["length"], r["mode"]) == (model, batch, length, mode)
            ]
            if not found:
                cells.append("-")
            elif found[0]["status"] == "ok" or key in found[0]:  # an oom still has its memory
                cells.append(fmt(found[0][key]))
            else:
                cells.append(found[0]["status"])
        lines.append(str(length).rjust(7) + "".join(c.rjust(width) for c in cells))
    return "\n".join(lines)


def print_length_report(result: dict[str, Any]) -> None:
    records, models = result["records"], list(result["models"])
    print(f"\nParameter counts (target {result['config']['params']:,d}):")
    for label, info in result["models"].items():
        print(f"  {label:>26}: {info['parameters']:>9,d}  {info['options']}")
    for batch in result["config"]["batches"]:
        for mode in MODES:
            print(f"\nBatch {batch}, {mode}: time per call (ms)")
            print(_table(records, models, batch, mode, "time_s", lambda v: f"{v * 1e3:.2f}"))
        print(f"\nBatch {batch}, forward+backward: compile time (s)")
        print(_table(records, models, batch, MODES[1], "compile_s", lambda v: f"{v:.1f}"))
        print(f"\nBatch {batch}, forward+backward: peak memory (MiB, XLA buffer assignment)")
        print(
            _table(records, models, batch, MODES[1], "memory_bytes", lambda v: f"{v / 2**20:.1f}")
        )
    print(f"\nLog-log slopes vs T (lengths >= {result['config']['fit_min_length']}):")
    print(f"{'model':>26} {'batch':>5} {'mode':>17} {'time':>6} {'memory':>7}")
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    for model, per_batch in result["slopes"].items():
        for batch, per_mode in per_batch.items():
            for mode, s in per_mode.items():
                time_slope, memory_slope = fmt(s["time"]), fmt(s["memory"])
                print(f"{model:>26} {batch:>5} {mode:>17} {time_slope:>6} {memory_slope:>7}")
    if result["crossovers"]:
        print("\nCrossover (time):")
    for c in result["crossovers"]:
        stop = f" ({c['reference']} {c['reference_stopped']})" if "reference_stopped" in c else ""
        pair = f"{c['model']} vs {c['reference']}"
        print(f"  B={c['batch']:<3} {c['mode']:<16} {pair:<36} {c['text']}{stop}")


def plot_length_study(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records, batches = result["records"], result["config"]["batches"]
    panels = [("forward", "time_s", "forward time (s)"),
              ("forward+backward", "time_s", "forward+backward time (s)"),
              ("forward+backward", "memory_bytes", "forward+backward memory (bytes)")]
    fig, axes = plt.subplots(len(batches), 3, figsize=(15, 4.2 * len(batches)), squeeze=False)
    for row, batch in enumerate(batches):
        for col, (mode, key, title) in enumerate(panels):
            ax = axes[row][col]
            for model in result["models"]:
                points = _ok(records, model, batch, mode)
                if points:
                    style = "--" if "associative" in model else "-"
                    ax.loglog([r["length"] for r in points], [r[key] for r in points], style,
                              marker="o", markersize=3, label=model)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{title}, batch {batch}")
            ax.set_xlabel("sequence length T")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Memory models at ~{result['config']['params']:,} parameters "
                 f"on {result['device']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- studies


def run_length_study(args: argparse.Namespace) -> dict[str, Any]:
    unknown = [m for m in args.models if m not in MODEL_SPECS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; --models takes {sorted(MODEL_SPECS)}")
    missing = [m for m in args.models if MODEL_SPECS[m].name not in available_memories()]
    if missing:
        raise ValueError(f"model(s) {missing} are not registered; have {available_memories()}")
    lengths = [2**k for k in range(args.min_log2, args.max_log2 + 1)]
    limits = Limits(args.time_limit, int(args.memory_limit_gb * 2**30), args.repeats)
    series = build_series(args.models, args.params, tuple(args.backends))
    records: list[dict[str, Any]] = []
    partial = args.out / f"scaling_length_{args.device}.partial.json"
    partial.parent.mkdir(parents=True, exist_ok=True)
    for s in series:
        for batch in args.batches:
            records += run_series(s, batch, lengths, limits, log=print)
            partial.write_text(json.dumps(records))  # what a cut-off sweep has measured so far
    models = [s.label for s in series]
    crossovers = [
        crossover(records, model, reference, batch, mode)
        for reference in ("transformer", "transformer_dense")
        if reference in models
        for model in models
        if model.startswith("s5")
        for batch in args.batches
        for mode in MODES
    ]
    return {
        "models": {s.label: {"parameters": s.parameters, "options": s.options} for s in series},
        "records": records,
        "slopes": fit_slopes(records, models, args.batches, args.fit_min_length),
        "crossovers": crossovers,
        "memory_measure": "XLA compiled buffer assignment: argument + output + temp - alias bytes",
        "time_measure": "median wall time of compiled calls after one warm-up, block_until_ready",
    }

# --------------------------------------------------------------------- devices study


def device_counts_for(args: argparse.Namespace) -> list[int]:
    """`--device-counts`, or powers of two up to the machine (CPU: its cores; GPU: its GPUs)."""
    if args.device_counts:
        return sorted(set(args.device_counts))
    limit = len(jax.devices()) if args.device == "gpu" else (os.cpu_count() or 1)
    return [2**k for k in range(int(math.log2(limit)) + 1)]


def devices_ppo_config(args: argparse.Namespace, devices: int) -> dict[str, Any]:
    """The PPO config one worker trains: `--ppo-envs` environments in all (strong scaling) or
    per device (weak scaling)."""
    envs = args.ppo_envs * (devices if args.scaling == "weak" else 1)
    model = {"name": args.ppo_model, "d_model": args.ppo_d_model}
    if "state_size" in {f.name for f in dataclasses.fields(layer_class(args.ppo_model))}:
        model["state_size"] = args.ppo_d_model
    return {
        "model": model,
        "network": {"head_hidden": args.ppo_d_model},
        "algo": {"num_envs": envs, "num_steps": args.ppo_steps, "update_epochs": 2,
                 "num_minibatches": args.ppo_minibatches,
                 "total_timesteps": envs * args.ppo_steps * args.ppo_updates},
    }


def devices_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """In a process whose XLA flags expose `spec["devices"]` devices: compile the data-parallel
    PPO chunk exactly as `agents.common.training.run_training` does (`compile_run`: mesh over
    all devices, env batch sharded), then time `spec["repeats"]` chunks of `spec["updates"]`
    updates after one warm-up."""
    from agents.common.distributed import data_mesh
    from agents.common.trainer import seed_keys
    from agents.common.training import check_mesh, compile_run, make_trainer
    from agents.ppo.config import TrainPPOConfig

    config = TrainPPOConfig.from_dict(spec["config"])
    algo = config.algo
    mesh = data_mesh()
    if mesh.size != spec["devices"]:
        raise RuntimeError(f"worker sees {mesh.size} devices, expected {spec['devices']}")
    ppo = make_trainer(config)
    check_mesh(ppo, mesh)
    updates = spec["updates"]
    compiled, compile_s, state = compile_run(ppo, ppo.init_seeds(seed_keys(config)), updates,
                                             mesh, donate=False)
    n = np.int32(updates)
    timed_call(compiled, state, n)  # warm-up
    times = [timed_call(compiled, state, n) for _ in range(spec["repeats"])]
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


def run_devices_study(args: argparse.Namespace) -> dict[str, Any]:
    """Each device count in a fresh process (XLA flags are read once per process): forced host
    devices on CPU, the first n GPUs (CUDA_VISIBLE_DEVICES) on GPU."""
    import subprocess

    counts = device_counts_for(args)
    records = []
    for n in counts:
        config = devices_ppo_config(args, n)
        per_minibatch = config["algo"]["num_envs"] // args.ppo_minibatches
        if per_minibatch % n:
            raise ValueError(f"{per_minibatch} environments per minibatch do not split over {n} "
                             f"devices; choose --ppo-envs / --ppo-minibatches accordingly")
        env = dict(os.environ)
        if args.device == "gpu":
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(n))
        else:
            flags = [f for f in env.get("XLA_FLAGS", "").split()
                     if not f.startswith("--xla_force_host_platform_device_count")]
            env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={n}"])
        spec = {"devices": n, "config": config, "updates": args.ppo_updates,
                "repeats": args.repeats}
        command = [sys.executable, __file__, "--device", args.device,
                   "--devices-worker", json.dumps(spec)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
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
                "test the sharded program, they do not add compute" if args.device == "cpu"
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


STUDIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "length": (run_length_study, print_length_report, plot_length_study),
    "devices": (run_devices_study, print_devices_report, plot_devices_study),
}


# -------------------------------------------------------------------------------- main


def _default_memory_limit_gb(device: str) -> float:
    if device == "gpu":
        stats = jax.devices()[0].memory_stats() or {}
        if "bytes_limit" in stats:
            return 0.9 * stats["bytes_limit"] / 2**30
    return 0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


QUICK_DEFAULTS: dict[str, Any] = {
    "params": 5_000, "batches": [2], "min_log2": 4, "max_log2": 5, "fit_min_length": 1,
    "time_limit": 10.0, "repeats": 2,
    "device_counts": [1, 2], "ppo_model": "gru", "ppo_d_model": 8, "ppo_envs": 8, "ppo_steps": 16,
    "ppo_updates": 2,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--study", choices=sorted(STUDIES), default="length")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--quick", action="store_true",
                   help="check the script: ~5k parameters, T = 16, 32, batch 2, one backend\n"
                        "(options given explicitly still apply)")
    p.add_argument("--models", type=lambda s: s.split(","), default=list(MODEL_SPECS))
    p.add_argument("--backends", type=lambda s: s.split(","), default=None,
                   help="scan backends for the SSMs (default: both; --quick: the platform's)")
    p.add_argument("--params", type=int, default=100_000, help="target parameter count")
    p.add_argument("--batches", type=int, nargs="+", default=[8, 64])
    p.add_argument("--min-log2", type=int, default=7)
    p.add_argument("--max-log2", type=int, default=16)
    p.add_argument("--fit-min-length", type=int, default=1024)
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per configuration")
    p.add_argument("--memory-limit-gb", type=float, default=None,
                   help="skip configurations above this (default 75%% of RAM / 90%% of GPU)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("bench_results/scaling"))
    devices = p.add_argument_group("--study devices (data-parallel PPO, one process per count)")
    devices.add_argument("--device-counts", type=int, nargs="+", default=None,
                         help="device counts (default: powers of 2 up to the cores / GPUs)")
    devices.add_argument("--scaling", choices=("strong", "weak"), default="strong",
                         help="strong: --ppo-envs in all; weak: --ppo-envs per device")
    devices.add_argument("--ppo-model", default="s5")
    devices.add_argument("--ppo-d-model", type=int, default=64)
    devices.add_argument("--ppo-envs", type=int, default=64)
    devices.add_argument("--ppo-steps", type=int, default=128, help="rollout length T")
    devices.add_argument("--ppo-minibatches", type=int, default=2)
    devices.add_argument("--ppo-updates", type=int, default=5, help="updates per timed chunk")
    p.add_argument("--devices-worker", default=None, help=argparse.SUPPRESS)
    if "--quick" in (sys.argv[1:] if argv is None else argv):
        p.set_defaults(**QUICK_DEFAULTS)
    args = p.parse_args(argv)
    if args.backends is None:
        args.backends = [default_backend(args.device)] if args.quick else list(BACKENDS)
    bad = [b for b in args.backends if b not in BACKENDS]
    if bad:
        p.error(f"unknown backend(s) {bad}; expected {BACKENDS}")
    if args.min_log2 > args.max_log2:
        p.error(f"--min-log2 {args.min_log2} > --max-log2 {args.max_log2}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    jax.config.update("jax_platforms", "cuda" if args.device == "gpu" else "cpu")
    jax.config.update("jax_enable_compilation_cache", False)  # compile times must be real
    if args.devices_worker:  # one device count of --study devices, in its own process
        record = devices_worker(json.loads(args.devices_worker))
        print(json.dumps(record))
        return record
    if args.memory_limit_gb is None:
        args.memory_limit_gb = _default_memory_limit_gb(args.device)
    run, report, plot = STUDIES[args.study]
    result = {
        "study": args.study,
        "device": str(jax.devices()[0].device_kind),
        "platform": jax.default_backend(),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
        "jax": jax.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **run(args),
    }
    report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"scaling_{args.study}_{args.device}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(result, stem.with_suffix(".png"))
    print(f"\nwrote {stem}.json and {stem}.png")
    return result


if __name__ == "__main__":
    main()
