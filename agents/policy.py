"""A trained policy out of its run directory: `load_policy(run_dir)`.

    policy = load_policy("outputs/2026-11-22/12-00-00")
    carry = policy.initial_carry(8)                        # memory state of 8 envs
    carry, action = policy.act(carry, obs, reset, key)     # obs[8, D], reset[8] bool

`act` (sampled) and `greedy` (the distribution's mode) are jitted functions of their arguments
and the restored parameters only: no trainer object, optimiser or replay buffer is kept. `obs`
is what the run's agent env returns (`policy.env`, e.g. POPGym observations with the previous
action and reward appended), `reset[b]` is True where `obs[b]` starts an episode, and `action`
is what that env's `step` takes (Gaussian samples clipped to the Box).

Both trainers' runs load the same way; the kind comes from the stored config:

- PPO (`algo` section): `RecurrentPPO.act`, the trainer's own acting step (the key is the
  action key);
- world model (`world_model` section): `DreamerAgent.policy_step`, the step the agent acts with
  (posterior latent `z_t` of `obs`, the actor on `s_t = [h_prev, z_t]`, one world-model memory
  step on `[z_t, a_t]`). The key is split like `DreamerAgent.act` splits its step key (latent,
  action, env), so for the same key the loaded policy picks the trainer's action; `greedy`
  uses the posterior's and the actor's modes.

The networks are rebuilt from `config.yaml` and the parameters restored from a checkpoint
(`checkpoint="latest"`: checkpoint.ckpt; `"best"`: best.ckpt; or the path of a kept one,
agents.common.kept_checkpoints), whose stored config must match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax

from agents.common.action_heads import env_action
from agents.common.config import agent_env
from agents.common.run_dir import RunDir, restore_run_state

KINDS = ("ppo", "world_model")


@dataclass(frozen=True)
class LoadedPolicy:
    """A restored policy: `act`/`greedy(carry, obs[B, ...], reset[B], key) -> (carry,
    action[B, ...])`, `initial_carry(B)`, the agent env it acts in and where it came from."""

    act: Callable[[Any, jax.Array, jax.Array, jax.Array], tuple[Any, jax.Array]]
    greedy: Callable[[Any, jax.Array, jax.Array, jax.Array], tuple[Any, jax.Array]]
    initial_carry: Callable[[int], Any]
    env: Any  # the run's agent env (unbatched, gymnax 1.x API)
    env_params: Any
    kind: str  # one of KINDS
    config: Any  # the trainer's config dataclass
    done: int  # updates (PPO) or iterations (world model) trained
    seed_index: int
    params: Any  # the restored parameters: PPO's, or (world model's, actor's)


def load_policy(
    run_dir: str | Path,
    *,
    seed_index: int = 0,
    checkpoint: str = "latest",
    env: Any = None,
    env_params: Any = None,
) -> LoadedPolicy:
    """The policy of member `seed_index` saved in `run_dir` (a PPO or world-model run), from
    the checkpoint `checkpoint` names ("latest", "best" or a file path). Members are the seeds;
    in a hyper-parameter sweep, member `point * num_seeds + seed` (`config.member_labels()`).

    `env, env_params`: the run's env for runs trained on an env object rather than a registered
    id (the same object the trainer received; it is wrapped the same way); default: rebuilt
    from the stored `env` section. Raises ValueError (CheckpointError) for a directory without
    a config or checkpoint, a checkpoint of another config, or a seed index out of range.
    """
    from agents.common.training import (
        load_run_config,
        make_trainer,
        state_template,
        stored_config,
    )
    from agents.ppo.config import TrainPPOConfig

    run = RunDir(run_dir)
    config = load_run_config(run.path)
    run.checkpoint_file(checkpoint)  # ValueError if there is none
    kind = "ppo" if isinstance(config, TrainPPOConfig) else "world_model"
    if not 0 <= seed_index < config.num_members:
        raise ValueError(
            f"seed_index={seed_index} is out of range: the run trained {config.num_members} "
            "member(s)"
        )
    env, env_params = agent_env(config.env, env, env_params)
    trainer = make_trainer(config, env, env_params)
    template = state_template(trainer)
    fields = ("params",) if kind == "ppo" else ("wm_params", "actor_params")
    params = []
    for name in fields:
        seeds, done = restore_run_state(run, getattr(template, name), stored_config(config),
                                        trainer.unit, part=name, which=checkpoint)
        params.append(jax.tree.map(lambda x: x[seed_index], seeds))
    return trainer_policy(trainer, *params, env=env, env_params=env_params, done=done,
                          seed_index=seed_index)


def trainer_policy(trainer: Any, *params: Any, env: Any, env_params: Any, done: int = 0,
                   seed_index: int = 0) -> LoadedPolicy:
    """The policy of one member's parameters held in memory (no run directory): a PPO
    trainer's `params`, or a world-model agent's `(wm_params, actor_params)`; `env,
    env_params` are the agent env the trainer acts in (before batching)."""
    from agents.ppo.config import TrainPPOConfig

    kind = "ppo" if isinstance(trainer.config, TrainPPOConfig) else "world_model"
    make = _ppo_policy if kind == "ppo" else _world_model_policy
    act, initial_carry = make(trainer, *params, greedy=False)
    greedy, _ = make(trainer, *params, greedy=True)
    restored = params[0] if kind == "ppo" else tuple(params)
    return LoadedPolicy(act, greedy, initial_carry, env, env_params, kind, trainer.config,
                        done, seed_index, restored)


def _ppo_policy(ppo: Any, params: Any, *, greedy: bool):
    def policy(carry, obs, reset, key):
        carry, action, _, _ = ppo.act(params, carry, obs, reset, key, greedy)
        return carry, env_action(ppo.action_space, action)

    return jax.jit(policy), lambda batch: ppo.network.initialize_carry((batch,))


def _world_model_policy(agent: Any, wm_params: Any, actor_params: Any, *, greedy: bool):
    def policy(carry, obs, reset, key):
        k_latent, k_action, _ = jax.random.split(key, 3)  # as DreamerAgent.act splits its key
        action, carry = agent.policy_step(wm_params, actor_params, carry, obs, reset,
                                          (k_latent, k_action), greedy)
        return carry, action

    return jax.jit(policy), lambda batch: agent.model.initial_state((batch,))
