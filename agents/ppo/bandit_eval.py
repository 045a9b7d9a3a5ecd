"""A trained recurrent PPO agent on the Bernoulli bandit tasks, beside the classical references.

`load_bandit_run` loads a run directory's agent; `agent_payouts` plays `num_trials` bandit
episodes with the agent on the draws of `key`, the same draws
`envs.meta.bandit_references.reference_payouts` gives the references (the wrappers pass keys
through to the raw bandit unchanged). `bandit_report` adds the references and, for
two arms, the Bayes-optimal value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from agents.common.action_heads import env_action
from agents.common.run_dir import RunDir
from agents.common.training import load_run_config, make_trainer, restore_state
from agents.ppo.config import TrainPPOConfig
from agents.ppo.train import RecurrentPPO
from envs.meta.bandit import BanditParams
from envs.meta.bandit_references import (
    bayes_optimal_value,
    reference_payouts,
    rollout_keys,
    summary,
)


def load_bandit_run(run: str | Path) -> tuple[TrainPPOConfig, RecurrentPPO, Any, int]:
    """`(config, trainer, net_params [members, ...], updates done)` of a run directory trained
    on a `MetaBandit-<split>` task (its latest checkpoint); ValueError for any other task."""
    config = load_run_config(run)
    if not config.env.id.startswith("MetaBandit-"):
        raise ValueError(f"{run} trained on {config.env.id!r}, not a MetaBandit-<split> task")
    ppo = make_trainer(config)
    state, updates = restore_state(ppo, RunDir(run))
    return config, ppo, state.params, updates


def agent_payouts(
    ppo: RecurrentPPO,
    net_params: Any,
    env: Any,
    params: BanditParams,
    key: jax.Array,
    num_trials: int,
    deterministic: bool = False,
) -> np.ndarray:
    """Payout fraction `[S, num_trials]` of the agent in the agent env `env` (wrappers on a
    `BernoulliBandit`), one episode per trial from a fresh memory, for each of the `S` seeds
    stacked on the leading axis of `net_params` (all seeds on the same draws; one compile)."""
    resets, steps = rollout_keys(key, num_trials, params.horizon)
    act_keys = rollout_keys(jax.random.fold_in(key, 2), 1, params.horizon)[1][:, 0]
    space = env.action_space(params)

    def play(net_params):
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(resets, params)
        carry = ppo.network.initialize_carry((num_trials,))

        def pull(c, keys):
            state, obs, carry, first = c
            step_keys, act_key = keys
            carry, action, _, _ = ppo.act(net_params, carry, obs, first, act_key, deterministic)
            obs, state, reward, *_ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                step_keys, state, env_action(space, action), params)
            return (state, obs, carry, jnp.zeros_like(first)), reward

        init = (state, obs, carry, jnp.ones((num_trials,), bool))
        _, rewards = jax.lax.scan(pull, init, (steps, act_keys))
        return rewards.mean(0)

    return np.asarray(jax.jit(jax.vmap(play))(net_params))


def bandit_report(
    params: BanditParams,
    key: jax.Array,
    num_trials: int,
    agents: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """`{"params", "payout": {policy: {"mean", "ci95"}}, "bayes_optimal"}` for one setting:
    the references on the draws of `key` plus the given agents' payouts (same draws)."""
    payouts = {**reference_payouts(params, key, num_trials), **(agents or {})}
    report = {"params": {"num_arms": params.num_arms, "horizon": params.horizon,
                         "prior_a": params.prior_a, "prior_b": params.prior_b},
              "num_trials": num_trials, "payout": summary(payouts)}
    if params.num_arms == 2:
        report["bayes_optimal"] = bayes_optimal_value(params.horizon, params.prior_a,
                                                      params.prior_b) / params.horizon
    return report
