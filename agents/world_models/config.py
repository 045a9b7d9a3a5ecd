"""Typed configuration of a world-model agent run, its Hydra schema and validation.

Groups (configs/train_wm.yaml): `env/` and `model/` are shared with PPO (`model` is the
sequence model: `{"name": <memory>, **make_memory options}`); `wm/` holds size presets
(`@package _global_` bundles over `world_model` and `agent`); `logger/` is PPO's.

Sizes: one iteration collects `num_envs x env_steps_per_iteration` env steps, then (once the
replay holds `prefill` steps per env) runs `updates_per_iteration` gradient updates, each on
`batch_size` windows of `batch_length` records for the world model and `imag_batch` contexts
of `imag_context` records from which the actor-critic imagines `horizon` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.common.config import RunConfig, positive_int


@dataclass
class WorldModelConfig:
    """Architecture, loss weights (DreamerV3) and optimiser of the world model."""

    latent_groups: int = 32
    latent_classes: int = 32
    unimix: float = 0.01
    width: int = 256  # MLP width of encoder, decoder, prior and heads
    mlp_layers: int = 2
    reward_bins: int = 255
    zero_reward_head: bool = False  # DreamerV3's zero-initialised reward output layer
    # Rewards and values are predicted in this unit (two-hot over symlog(r / unit)); set it
    # near the task's typical |reward| (POPGym memory tasks: 1 / episode length).
    reward_unit: float = 1.0
    decoder_scale: float = 1.0
    reward_scale: float = 1.0
    continue_scale: float = 1.0
    dyn_scale: float = 0.5
    rep_scale: float = 0.1
    free_nats: float = 1.0
    learning_rate: float = 1e-4
    adam_eps: float = 1e-8
    max_grad_norm: float = 1000.0


@dataclass
class AgentConfig:
    """Replay, imagination, actor-critic (DreamerV3 numbers) and the collect/train schedule."""

    total_timesteps: int = 200_000  # env steps per seed
    num_envs: int = 16
    env_steps_per_iteration: int = 16  # per env, between training phases
    updates_per_iteration: int = 4
    prefill: int = 256  # env steps per env collected before training starts
    replay_capacity: int = 4096  # records per env
    frequency_tau: float | None = None  # Drama's frequency-based sampling; None -> uniform
    batch_size: int = 16
    batch_length: int = 64
    imag_batch: int = 64
    imag_context: int = 64  # warm-up records: memory tasks need the cue inside the context
    horizon: int = 15
    gamma: float = 0.997
    lam: float = 0.95
    entropy: float = 3e-4
    return_decay: float = 0.99
    slow_critic_decay: float = 0.98
    slow_reg: float = 1.0
    actor_width: int = 256
    actor_layers: int = 2
    actor_lr: float = 3e-5
    critic_lr: float = 3e-5
    ac_max_grad_norm: float = 100.0

    @property
    def steps_per_iteration(self) -> int:
        return self.num_envs * self.env_steps_per_iteration

    @property
    def num_iterations(self) -> int:
        return self.total_timesteps // self.steps_per_iteration


@dataclass
class TrainWMConfig(RunConfig):
    """A whole run: `RunConfig` (env, model, logger, seeds, resume, devices) plus the world
    model and the agent."""

    trainer = "agents.world_models.agent:DreamerAgent"

    world_model: WorldModelConfig = field(default_factory=WorldModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)

    def validate_sections(self) -> None:
        agent, wm = self.agent, self.world_model
        for name in ("total_timesteps", "num_envs", "env_steps_per_iteration", "prefill",
                     "replay_capacity", "batch_size", "batch_length", "imag_batch", "horizon"):
            positive_int(f"agent.{name}", getattr(agent, name))
        if not isinstance(agent.updates_per_iteration, int) or agent.updates_per_iteration < 0:
            raise ValueError(f"agent.updates_per_iteration={agent.updates_per_iteration!r} must be "
                             "a non-negative integer")
        for name in ("latent_groups", "latent_classes", "width", "mlp_layers", "reward_bins"):
            positive_int(f"world_model.{name}", getattr(wm, name))
        if agent.imag_context < 2:
            raise ValueError(f"agent.imag_context={agent.imag_context!r} must be >= 2")
        longest = max(agent.batch_length, agent.imag_context)
        if agent.prefill < longest:
            raise ValueError(f"agent.prefill={agent.prefill} must be >= the longest sampled "
                             f"window ({longest} = max(batch_length, imag_context))")
        if agent.replay_capacity < max(agent.prefill, agent.env_steps_per_iteration):
            raise ValueError(f"agent.replay_capacity={agent.replay_capacity} must hold the "
                             f"prefill ({agent.prefill}) and one iteration "
                             f"({agent.env_steps_per_iteration})")
        if agent.total_timesteps < agent.steps_per_iteration:
            raise ValueError(f"agent.total_timesteps={agent.total_timesteps} is less than one "
                             f"iteration of num_envs x env_steps_per_iteration = "
                             f"{agent.steps_per_iteration}")
        for name in ("gamma", "lam", "slow_critic_decay", "return_decay"):
            if not 0.0 <= getattr(agent, name) <= 1.0:
                raise ValueError(f"agent.{name}={getattr(agent, name)!r} must lie in [0, 1]")
        if not 0.0 <= wm.unimix < 1.0:
            raise ValueError(f"world_model.unimix={wm.unimix!r} must lie in [0, 1)")
        if agent.frequency_tau is not None and not agent.frequency_tau > 0:
            raise ValueError(f"agent.frequency_tau={agent.frequency_tau!r} must be > 0 or null")
        for name in ("actor_lr", "critic_lr"):
            if not getattr(agent, name) > 0:
                raise ValueError(f"agent.{name}={getattr(agent, name)!r} must be > 0")
        if not wm.reward_unit > 0:
            raise ValueError(f"world_model.reward_unit={wm.reward_unit!r} must be > 0")
        if not wm.learning_rate > 0:
            raise ValueError(f"world_model.learning_rate={wm.learning_rate!r} must be > 0")


def register_configs() -> None:
    """Register the schema `train_wm_schema` in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="train_wm_schema", node=TrainWMConfig)
