"""Typed configuration of a PPO run, its Hydra schema and its validation.

The dataclasses are the schema Hydra merges `configs/train_ppo.yaml` and its groups into
(`register_configs`), so a misspelt key fails at composition. `TrainPPOConfig.validate` checks
values (env id, memory name and options, batch divisibility, ranges) before anything is
compiled, naming the bad value and what is allowed.

Sizes: one update collects `num_envs x num_steps` env steps per seed; the update runs
`update_epochs` passes over `num_minibatches` minibatches of `num_envs / num_minibatches`
whole environment sequences of length `num_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.common.config import RunConfig, positive_int


@dataclass
class NetworkConfig:
    """Actor and critic heads on top of the memory."""

    head_hidden: int = 256
    activation: str = "relu"
    shared_memory: bool = True  # False: the critic has its own memory (separate networks)
    action_squash: str = "clip"  # continuous actions: "clip" the Gaussian, or "tanh"-squash it


@dataclass
class AlgoConfig:
    """PPO hyper-parameters (defaults: the S5 RL paper's single POPGym config)."""

    total_timesteps: int = 15_000_000  # env steps per seed
    num_envs: int = 64
    num_steps: int = 1024  # rollout length T
    update_epochs: int = 30
    num_minibatches: int = 8
    learning_rate: float = 5e-5
    anneal_lr: bool = False  # linear decay to 0 over the run
    adam_eps: float = 1e-5
    gamma: float = 0.99
    gae_lambda: float = 1.0
    clip_eps: float = 0.2
    clip_value: bool = True  # PPO value clipping with clip_eps
    normalize_advantages: bool = True  # per minibatch
    ent_coef: float = 0.0
    vf_coef: float = 1.0
    max_grad_norm: float = 0.5

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_update


# The hyper-parameters a sweep may list values for: PPOState carries them as traced scalars.
SWEEPABLE = ("learning_rate", "ent_coef", "vf_coef", "clip_eps", "gae_lambda")


@dataclass
class SweepConfig:
    """Values to train side by side in one program (`agents.common.sweep`): the grid is the
    product of the non-empty lists, each point with every seed; empty lists keep `algo`'s
    value. E.g. `sweep.learning_rate=[1e-3,3e-4] sweep.ent_coef=[0,0.01]`: 4 points."""

    learning_rate: list[float] = field(default_factory=list)
    ent_coef: list[float] = field(default_factory=list)
    vf_coef: list[float] = field(default_factory=list)
    clip_eps: list[float] = field(default_factory=list)
    gae_lambda: list[float] = field(default_factory=list)


@dataclass
class TrainPPOConfig(RunConfig):
    """A whole run: `RunConfig` (env, model, logger, seeds, resume, devices) plus the PPO
    sections."""

    trainer = "agents.ppo.train:RecurrentPPO"

    network: NetworkConfig = field(default_factory=NetworkConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)

    def hyperparameter_grid(self) -> list[dict[str, float]]:
        """Every grid point's values of all `SWEEPABLE` hyper-parameters (swept or `algo`'s)."""
        from agents.common.sweep import grid_points

        base = {name: float(getattr(self.algo, name)) for name in SWEEPABLE}
        return [{**base, **{k: float(v) for k, v in point.items()}}
                for point in grid_points(self.to_dict())]

    def validate_sections(self) -> None:
        from agents.common.action_heads import SQUASHES
        from agents.ppo.network import check_activation

        algo = self.algo
        for name in ("total_timesteps", "num_envs", "num_steps", "update_epochs",
                     "num_minibatches"):
            positive_int(f"algo.{name}", getattr(algo, name))
        positive_int("network.head_hidden", self.network.head_hidden)
        if algo.num_envs % algo.num_minibatches:
            divisors = [d for d in range(1, algo.num_envs + 1) if algo.num_envs % d == 0]
            raise ValueError(
                f"algo.num_minibatches={algo.num_minibatches} must divide algo.num_envs="
                f"{algo.num_envs} (minibatches split environments, never time); allowed: "
                f"{divisors}"
            )
        if algo.total_timesteps < algo.steps_per_update:
            raise ValueError(
                f"algo.total_timesteps={algo.total_timesteps} is less than one update of "
                f"num_envs x num_steps = {algo.steps_per_update} env steps"
            )
        for name in ("gamma", "gae_lambda", "learning_rate", "clip_eps", "max_grad_norm",
                     "adam_eps", "ent_coef", "vf_coef"):
            check_hyperparameter(f"algo.{name}", name, getattr(algo, name))
        for name in SWEEPABLE:
            values = getattr(self.sweep, name)
            if not isinstance(values, list | tuple):
                raise ValueError(f"sweep.{name}={values!r} must be a list of values, e.g. "
                                 f"sweep.{name}=[{getattr(algo, name)}]")
            for value in values:
                check_hyperparameter(f"sweep.{name}", name, value)
            if len(set(values)) != len(values):
                raise ValueError(f"sweep.{name}={list(values)} lists a value twice")
        check_activation(self.network.activation)
        if self.network.action_squash not in SQUASHES:
            raise ValueError(f"network.action_squash={self.network.action_squash!r} is not one "
                             f"of {list(SQUASHES)}")


HYPERPARAMETER_RANGES = {  # name -> (low, high, low included)
    "gamma": (0.0, 1.0, True), "gae_lambda": (0.0, 1.0, True),
    "learning_rate": (0.0, float("inf"), False), "clip_eps": (0.0, float("inf"), False),
    "max_grad_norm": (0.0, float("inf"), False), "adam_eps": (0.0, float("inf"), False),
    "ent_coef": (0.0, float("inf"), True), "vf_coef": (0.0, float("inf"), True),
}


def check_hyperparameter(where: str, name: str, value: Any) -> None:
    """ValueError naming `where=value` unless it is a number in `HYPERPARAMETER_RANGES[name]`."""
    lo, hi, closed = HYPERPARAMETER_RANGES[name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{where}={value!r} must be a number")
    if hi < float("inf") and not lo <= value <= hi:
        raise ValueError(f"{where}={value!r} must lie in [{lo}, {hi}]")
    if not (lo <= value if closed else lo < value):
        raise ValueError(f"{where}={value!r} must be {'>=' if closed else '>'} {lo:g}")


def register_configs() -> None:
    """Register the schema `train_ppo_schema` in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="train_ppo_schema", node=TrainPPOConfig)
