#!/usr/bin/env python
"""The run checkpoint format against orbax-checkpoint, on a real PPO train state.

    python scripts/bench_checkpoint.py --out docs/results/checkpoint_formats.json

For each format: best-of-`--repeats` save and restore seconds, bytes on disk, whether the
restored state is bit-identical, and what happens when one byte in the middle of the largest
file is flipped and when that file is cut in half (an error, or a silently different state).
The state is that of `preset=fast` (S5, 2 seeds) on RepeatPreviousEasy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from agents.common.checkpoint import load_checkpoint, save_checkpoint
from agents.common.cli import compose_run_config
from agents.common.training import make_trainer, seed_keys
from agents.ppo.config import TrainPPOConfig, register_configs
from benchmarks.timing import host_meta, write_results


def _fast_state():
    config = compose_run_config(TrainPPOConfig, "train_ppo", register_configs,
                                ["preset=fast", "num_seeds=2"])
    trainer = make_trainer(config)
    return jax.device_get(trainer.init_seeds(seed_keys(config)))


def _same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


class Ours:
    name = "ssm_rl (msgpack + sha256, atomic rename)"

    def __init__(self, root: Path):
        self.path = root / "checkpoint.ckpt"

    def save(self, state, step):
        save_checkpoint(self.path, state, {"update": step})

    def restore(self, state, step):
        return load_checkpoint(self.path, state)[0]

    def files(self):
        return [self.path]


class Orbax:
    name = "orbax-checkpoint CheckpointManager (StandardSave)"

    def __init__(self, root: Path):
        import orbax.checkpoint as ocp

        self.ocp = ocp
        self.root = root / "orbax"
        self.manager = ocp.CheckpointManager(
            self.root, options=ocp.CheckpointManagerOptions(max_to_keep=2))

    def save(self, state, step):
        self.manager.save(step, args=self.ocp.args.StandardSave(state))
        self.manager.wait_until_finished()

    def restore(self, state, step):
        manager = self.ocp.CheckpointManager(self.root)  # a fresh process's view
        return manager.restore(step, args=self.ocp.args.StandardRestore(state))

    def files(self):
        return [p for p in self.root.rglob("*") if p.is_file()]


def _damaged(fmt, state, step, damage) -> str:
    largest = max(fmt.files(), key=lambda p: p.stat().st_size)
    original = largest.read_bytes()
    largest.write_bytes(damage(bytearray(original)))
    try:
        restored = fmt.restore(state, step)
        outcome = "restored, identical" if _same(restored, state) else "restored SILENTLY WRONG"
    except Exception as error:  # noqa: BLE001 (every failure is an outcome to report)
        outcome = f"error: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
    largest.write_bytes(original)
    return outcome


def _flip(data: bytearray) -> bytes:
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("docs/results/checkpoint_formats.json"))
    args = parser.parse_args()

    state = _fast_state()
    state_bytes = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state))
    results = []
    for fmt_class in (Ours, Orbax):
        with tempfile.TemporaryDirectory() as root:
            fmt = fmt_class(Path(root))
            saves, restores = [], []
            for step in range(args.repeats):
                start = time.perf_counter()
                fmt.save(state, step)
                saves.append(time.perf_counter() - start)
                start = time.perf_counter()
                restored = fmt.restore(state, step)
                restores.append(time.perf_counter() - start)
            last = args.repeats - 1
            results.append({
                "format": fmt.name,
                "save_s": min(saves),
                "restore_s": min(restores),
                "disk_bytes": sum(p.stat().st_size for p in fmt.files()
                                  if fmt_class is Ours or f"/{last}/" in str(p)),
                "bit_identical": _same(restored, state),
                "one_byte_flipped": _damaged(fmt, state, last, _flip),
                "truncated_to_half": _damaged(fmt, state, last,
                                              lambda d: bytes(d[: len(d) // 2])),
            })
    print(f"train state: {state_bytes / 1e6:.2f} MB in {len(jax.tree.leaves(state))} arrays")
    for r in results:
        print(f"{r['format']}\n  save {r['save_s']:.3f} s  restore {r['restore_s']:.3f} s  "
              f"disk {r['disk_bytes'] / 1e6:.2f} MB  bit-identical {r['bit_identical']}\n"
              f"  one byte flipped: {r['one_byte_flipped']}\n"
              f"  truncated:        {r['truncated_to_half']}")
    write_results(args.out, {**host_meta(), "state_bytes": state_bytes}, results)


if __name__ == "__main__":
    main()
