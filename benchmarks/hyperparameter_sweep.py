"""A hyper-parameter grid trained as one vmapped program against the same grid run one point
after another, on the same machine in the same process.

Three ways to train the grid `points x seeds` for `updates` PPO updates each:

- `vmapped`: one config with a `sweep` section: every member in one compiled program
  (what `train_ppo.py sweep.learning_rate=[...]` runs);
- `sequential`: one plain config per point, each built and compiled anew (what a Hydra
  multirun, `-m algo.learning_rate=...`, or a shell loop over runs does);
- `sequential_one_compile`: one plain trainer compiled once, each point's state initialised
  with its hyper-parameters (they are traced state, so the program is the same) and run in
  turn: what is left of the speed-up once compilation is shared.

Each leg reports compile and run seconds; the members' returns must agree between the legs
(the vmapped member is the plain run with its hyper-parameters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import numpy as np

from agents.common.cli import compose_run_config
from agents.common.distributed import data_mesh
from agents.common.sweep import grid_points
from agents.common.trainer import seed_keys
from agents.common.training import compile_run, make_trainer
from agents.ppo.config import TrainPPOConfig, register_configs


@dataclass
class LegResult:
    name: str
    compile_s: float
    run_s: float
    returns: np.ndarray  # [members, updates] mean episode return per update (NaN: none)

    @property
    def total_s(self) -> float:
        return self.compile_s + self.run_s


def _config(overrides: list[str]) -> TrainPPOConfig:
    return compose_run_config(TrainPPOConfig, "train_ppo", register_configs, overrides)


def _sweep_overrides(sweep: dict[str, list[float]]) -> list[str]:
    return [f"sweep.{k}=[{','.join(repr(float(v)) for v in values)}]"
            for k, values in sweep.items()]


def _point_overrides(point: dict[str, float]) -> list[str]:
    return [f"algo.{k}={float(v)!r}" for k, v in point.items()]


def _run(compiled, state, updates: int) -> tuple[float, np.ndarray]:
    """`(seconds, returns [members, updates])` of one call of a compiled chunk."""
    start = time.perf_counter()
    _, metrics = compiled(state, np.int32(updates))
    returns = np.asarray(jax.device_get(metrics["episode/return"]), np.float64)
    count = np.asarray(jax.device_get(metrics["episode/count"]))
    return time.perf_counter() - start, np.where(count > 0, returns, np.nan)


def _train(trainer, state, updates: int) -> tuple[float, float, np.ndarray]:
    """`(compile s, run s, returns)` of `updates` updates from `state`, compiled anew."""
    compiled, compile_s, state = compile_run(trainer, state, updates, data_mesh())
    return (compile_s, *_run(compiled, state, updates))


def run_legs(base: list[str], sweep: dict[str, list[float]], updates: int) -> list[LegResult]:
    """The three legs for the configuration `base` (Hydra overrides of train_ppo) and the grid
    `sweep` (`{algo name: values}`), `updates` updates per member."""
    budget = [*base, "logger=quiet"]
    swept = _config([*budget, *_sweep_overrides(sweep)])
    keys = seed_keys(swept)
    trainer = make_trainer(swept)
    compile_s, run_s, returns = _train(trainer, trainer.init_members(keys), updates)
    legs = [LegResult("vmapped", compile_s, run_s, returns)]

    points = grid_points(swept.to_dict())
    compiles, runs, rows = [], [], []
    for point in points:
        plain = make_trainer(_config([*budget, *_point_overrides(point)]))
        c, r, ret = _train(plain, plain.init_seeds(keys), updates)
        compiles.append(c), runs.append(r), rows.append(ret)
    legs.append(LegResult("sequential", sum(compiles), sum(runs), np.concatenate(rows)))

    plain = make_trainer(_config(budget))
    compiled, compile_s, _ = compile_run(plain, plain.init_seeds(keys), updates, data_mesh())
    run_s, rows = 0.0, []
    for point in swept.hyperparameter_grid():  # every hyper-parameter, swept or not
        seconds, ret = _run(compiled, plain.stack_inits([(key, point) for key in keys]), updates)
        run_s += seconds
        rows.append(ret)
    legs.append(LegResult("sequential_one_compile", compile_s, run_s, np.concatenate(rows)))
    return legs
