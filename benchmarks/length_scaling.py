"""Length-scaling study of the memory models: time, compile time and peak memory against the
sequence length at a matched parameter count (the S5 RL paper's speed claims, reproduced).

For each model of `MODEL_SPECS` (S5, LRU, Mamba-style selective SSM, GRU, LSTM, the causal
Transformer with blocked and with dense attention), its width is chosen so that its parameter
count is the closest to a target (`ssm_rl.params.closest_width`), and for each batch size and
sequence length T it measures

- forward (`y = memory(carry, x, reset)`) and forward+backward (gradient of mean(y^2) w.r.t.
  all parameters) wall time: median of repeated calls of the compiled function after one
  warm-up call, each call ended by `block_until_ready`;
- compile time: `jit(f).lower(...).compile()` wall time;
- peak memory: `benchmarks.timing.compiled_footprint`, known before the call, so a
  configuration predicted above the memory limit is not run.

SSMs run with each scan backend asked for. The Transformer's window is the sequence length
(full causal context; its sequence mode also holds a W-step KV cache); it attends in query
blocks of 128 (memory linear in T), and `transformer_dense` is the same model scoring the whole
T x (W + T) matrix at once. A series (model, batch, mode) stops at the first length that runs
out of memory or whose next call is predicted to exceed the time limit, and the record says so.
`fit_slopes` fits the log-log slope of time and memory against T and `crossover` finds the
length where S5 overtakes the Transformer.

Records are dicts `{"model", "batch", "length", "mode", "status": "ok" | "oom" | "time" |
"skipped", "time_s", "times_s", "compile_s", "memory_bytes", "note"}` (the measured fields only
where measured); `scripts/bench_scaling.py --study length` is the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.timing import compiled_footprint, timed_call, timed_compile
from ssm_rl.memory import available_memories, layer_class, make_memory
from ssm_rl.params import closest_width, memory_parameter_count

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


def match_width(spec: ModelSpec, target: int) -> tuple[dict, int]:
    """Options (width a multiple of 8) whose parameter count is closest to `target`, and
    that count."""

    def count(width: int) -> int:
        extra = {"window": 2} if spec.window_is_length else {}
        memory = make_memory(spec.name, **_spec_options(spec, width), **extra)
        return memory_parameter_count(memory, INPUT_DIM)

    width = closest_width(count, target, WIDTH_STEP)
    return _spec_options(spec, width), count(width)


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



def measure(fn: Callable, args: tuple, limits: Limits) -> dict[str, Any]:
    """Compile, check the footprint, warm up, then time `fn(*args)` within the limits."""
    compiled, compile_s = timed_compile(fn, *args)
    record: dict[str, Any] = {"compile_s": compile_s}
    record["memory_bytes"] = compiled_footprint(compiled)
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


# ----------------------------------------------------------------------------- the study


def default_memory_limit_gb(device: str) -> float:
    """90% of the GPU's memory, or 75% of the host's RAM: above it a configuration is not run."""
    if device == "gpu":
        stats = jax.devices()[0].memory_stats() or {}
        if "bytes_limit" in stats:
            return 0.9 * stats["bytes_limit"] / 2**30
    return 0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30



def check_models(models: list[str]) -> None:
    """ValueError naming any model that is not in `MODEL_SPECS` or not registered."""
    unknown = [m for m in models if m not in MODEL_SPECS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; --models takes {sorted(MODEL_SPECS)}")
    missing = [m for m in models if MODEL_SPECS[m].name not in available_memories()]
    if missing:
        raise ValueError(f"model(s) {missing} are not registered; have {available_memories()}")


def run_length_study(
    models: list[str],
    backends: tuple[str, ...],
    params: int,
    batches: list[int],
    lengths: list[int],
    limits: Limits,
    fit_min_length: int,
    partial_path: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every model (sized to `params` parameters) at every batch and length, both modes; then
    slopes and S5-vs-Transformer crossovers. After each series the records so far are written
    to `partial_path`, so a sweep that is cut off keeps what it measured."""
    check_models(models)
    series = build_series(models, params, backends)
    records: list[dict[str, Any]] = []
    for s in series:
        for batch in batches:
            records += run_series(s, batch, lengths, limits, log=log)
            if partial_path is not None:
                partial_path.parent.mkdir(parents=True, exist_ok=True)
                partial_path.write_text(json.dumps(records))
    labels = [s.label for s in series]
    crossovers = [
        crossover(records, model, reference, batch, mode)
        for reference in ("transformer", "transformer_dense")
        if reference in labels
        for model in labels
        if model.startswith("s5")
        for batch in batches
        for mode in MODES
    ]
    return {
        "models": {s.label: {"parameters": s.parameters, "options": s.options} for s in series},
        "records": records,
        "slopes": fit_slopes(records, labels, batches, fit_min_length),
        "crossovers": crossovers,
        "memory_measure": "XLA compiled buffer assignment: argument + output + temp - alias bytes",
        "time_measure": "median wall time of compiled calls after one warm-up, block_until_ready",
    }
