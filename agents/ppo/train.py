"""Recurrent PPO, PureJaxRL-style: rollout to optimiser step in one jittable function.

One update (per seed; B = num_envs, T = num_steps, M = num_minibatches):

1. Rollout: `lax.scan` over T steps. The policy runs in step mode on `obs[B, D]` with its
   carry; the batch of envs steps with auto-reset. Stored per step: the observation acted on,
   its "is first" flag (the previous step's done, the memory's reset), action, log-prob,
   value, reward, terminated, done, and the value of `info["final_observation"]` where the
   episode was truncated (computed from the carry after the step, without a reset).
2. GAE (`agents.common.returns.gae`), bootstrapping through truncations, not terminations.
3. `update_epochs` x M minibatches. Each minibatch is B/M whole environment sequences
   `[T, B/M]` (environments are shuffled, time never is), replayed in sequence mode from the
   carry stored at the rollout start (gradient stopped). The first replay reproduces the
   rollout's log-probs, so the PPO ratio starts at 1.

`RecurrentPPO(config)` (or `agents.common.training.make_trainer(config)`) is a
`agents.common.trainer.Trainer`: pure `init(rng) -> PPOState` and `iteration(state) ->
(state, metrics)` (one update), plus the base class's `run(state, n, max_n)` (a chunk of n
updates with one compiled program for any n) and `train(state)` (all updates). Seeds are a
leading axis:

    ppo = RecurrentPPO(config)
    states = ppo.init_seeds(jax.random.split(key, num_seeds))   # [num_seeds, ...]
    states, metrics = jax.jit(jax.vmap(ppo.train))(states)

The env batch is the leading axis of every per-env leaf of `PPOState` (obs, carry, env state).
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax
from flax import struct

from agents.common.acting import EnvStep, act_and_step
from agents.common.action_heads import ActionHead, env_action
from agents.common.config import agent_env
from agents.common.distributed import shard_env_axis
from agents.common.episodes import episode_statistics
from agents.common.returns import gae, next_values
from agents.common.trainer import Trainer
from agents.ppo.config import SWEEPABLE, TrainPPOConfig
from agents.ppo.network import ActorCritic
from envs.wrappers import VecEnv
from ssm_rl.memory import make_memory


@struct.dataclass
class PPOState:
    """Everything a run needs to continue, for one seed (a single pytree)."""

    params: Any
    opt_state: Any
    env_state: Any  # batched env state, leading axis B
    obs: jax.Array  # [B, D] observation to act on next
    is_first: jax.Array  # [B] bool: `obs` starts an episode
    carry: Any  # memory carry before consuming `obs`, leading axis B
    rng: jax.Array
    update_step: jax.Array  # int32, updates done
    hparams: dict[str, jax.Array]  # float32 scalars of `SWEEPABLE` (the sweep's grid point)


@struct.dataclass
class Transition:
    """One rollout step for B envs (stacked to `[T, B, ...]` by the rollout scan)."""

    obs: jax.Array  # [B, D]
    is_first: jax.Array  # [B] bool, the memory reset
    action: jax.Array  # [B] int32 | [B, k] int32 | [B, d] float32
    log_prob: jax.Array  # [B]
    value: jax.Array  # [B]
    reward: jax.Array  # [B]
    terminated: jax.Array  # [B] bool
    done: jax.Array  # [B] bool, terminated or truncated
    final_value: jax.Array  # [B] V(final observation) where truncated, not terminated; else 0
    episode_return: jax.Array  # [B] return of the episode that ended here (where done)
    episode_length: jax.Array  # [B]


class RecurrentPPO(Trainer):
    """Pure train functions for one config; one iteration is one PPO update.

    `env, env_params`: any env object with the gymnax 1.x API, to train on an environment
    that is not in `envs.registry` (default: the one `config.env` names); it is wrapped as
    `config.env` says (`agents.common.config.agent_env`).
    """

    unit = "update"
    per_env_fields = ("env_state", "obs", "is_first", "carry")

    def __init__(self, config: TrainPPOConfig, env: Any = None, env_params: Any = None):
        config.validate(env_known=env is not None)
        env, env_params = agent_env(config.env, env, env_params)
        self.config = config
        self.algo = config.algo
        self.steps_per_iteration = self.algo.steps_per_update
        self.num_iterations = self.algo.num_updates
        self.env = VecEnv(env)
        self.env_params = env_params
        self.action_space = env.action_space(env_params)
        def memory():
            return make_memory(config.memory_name, **config.memory_options)

        self.network = ActorCritic(
            memory=memory(),
            critic_memory=None if config.network.shared_memory else memory(),
            action_head=ActionHead.for_space(self.action_space,
                                              squash=config.network.action_squash),
            head_hidden=config.network.head_hidden,
            activation=config.network.activation,
        )
        self.tx = self._optimizer()

    def mesh_divisors(self) -> dict[str, int]:
        algo = self.algo
        return {
            "algo.num_envs": algo.num_envs,
            "environments per minibatch (algo.num_envs / algo.num_minibatches)":
                algo.num_envs // algo.num_minibatches,
        }

    def _optimizer(self) -> optax.GradientTransformation:
        """Adam without its learning rate: `update` scales by `-hparams["learning_rate"]`
        (a traced per-member value), as `optax.adam(lr)` = `scale_by_adam` then `scale(-lr)`.
        `anneal_lr` multiplies by a linear decay from 1 to 0 over the run."""
        algo = self.algo
        parts = [optax.clip_by_global_norm(algo.max_grad_norm),
                 optax.scale_by_adam(eps=algo.adam_eps)]
        if algo.anneal_lr:
            steps = self.num_iterations * algo.update_epochs * algo.num_minibatches
            parts.append(optax.scale_by_schedule(optax.linear_schedule(1.0, 0.0, steps)))
        return optax.chain(*parts)

    # ---- state -------------------------------------------------------------------------------

    def init(self, rng: jax.Array, hparams: dict[str, Any] | None = None) -> PPOState:
        """Fresh state for one seed: reset envs, init parameters and optimiser. `hparams`:
        values of `SWEEPABLE` (default: the config's `algo` values)."""
        if hparams is None:
            hparams = {name: getattr(self.algo, name) for name in SWEEPABLE}
        B = self.algo.num_envs
        rng, k_env, k_net = jax.random.split(rng, 3)
        obs, env_state = self.env.reset(jax.random.split(k_env, B), self.env_params)
        carry = self.network.initialize_carry((B,))
        is_first = jnp.ones((B,), bool)
        params = self.network.init(k_net, carry, obs[None], is_first[None])
        return PPOState(
            params=params,
            opt_state=self.tx.init(params),
            env_state=env_state,
            obs=obs,
            is_first=is_first,
            carry=carry,
            rng=rng,
            update_step=jnp.zeros((), jnp.int32),
            hparams={name: jnp.asarray(hparams[name], jnp.float32) for name in SWEEPABLE},
        )

    def init_members(self, keys: jax.Array) -> PPOState:
        """States of every member (`agents.common.sweep`): each grid point of the config's
        sweep with each key of `keys[num_seeds]`, stacked point-major on a leading axis."""
        return self.stack_inits([(key, point) for point in self.config.hyperparameter_grid()
                                 for key in keys])

    # ---- acting ------------------------------------------------------------------------------

    def act(
        self, params: Any, carry: Any, obs: jax.Array, is_first: jax.Array, key: jax.Array,
        greedy: bool = False,
    ) -> tuple[Any, jax.Array, Any, jax.Array]:
        """One memory step for a batch `[n]`: `(carry, action, policy, value[n])`, the action
        sampled (or the policy's mode if `greedy`) in the head's space (`env_action` maps it)."""
        carry, (policy, value) = self.network.apply(
            params, carry, obs, is_first, method=ActorCritic.step
        )
        action = policy.mode() if greedy else policy.sample(seed=key)
        return carry, action, policy, value

    def act_and_step(
        self, params: Any, carry: Any, env_state: Any, obs: jax.Array, is_first: jax.Array,
        act_key: jax.Array, env_key: jax.Array, greedy: bool = False,
    ) -> tuple[tuple[Any, Any, jax.Array], EnvStep]:
        """`act` on `obs[n]`, then step `n` of this trainer's envs with the action:
        `((carry, policy, value), EnvStep)` (`agents.common.acting.act_and_step`)."""

        def policy(obs, is_first, key):
            carry_, action, pi, value = self.act(params, carry, obs, is_first, key, greedy)
            return action, (carry_, pi, value)

        return act_and_step(self.env, self.env_params, env_state, obs, is_first, act_key,
                            env_key, policy, lambda a: env_action(self.action_space, a))

    def rollout(self, state: PPOState) -> tuple[PPOState, Transition, jax.Array]:
        """T steps of acting: `(state after, Transition[T, B], last_value[B])`.

        `last_value` is V of `state.obs` after the rollout (bootstrap of the last step).
        """
        params = state.params
        B = self.algo.num_envs

        def step(carry, _):
            env_state, obs, is_first, memory, rng = carry
            rng, k_act, k_env = jax.random.split(rng, 3)
            (memory, policy, value), out = self.act_and_step(
                params, memory, env_state, obs, is_first, k_act, k_env
            )
            action, info, terminated, done = out.action, out.info, out.terminated, out.done
            bootstrap = out.truncated & ~terminated  # cut by the time limit, not by the task
            # One extra memory step, only on steps where some env was truncated (under a vmap
            # over seeds the cond becomes a select and runs every step: ~1 rollout step more).
            final_value = jax.lax.cond(
                jnp.any(bootstrap),
                lambda: self.network.apply(
                    params,
                    memory,
                    info["final_observation"],
                    jnp.zeros((B,), bool),
                    method=ActorCritic.value_step,
                ),
                lambda: jnp.zeros((B,), jnp.float32),
            )
            transition = Transition(
                obs=obs,
                is_first=is_first,
                action=action,
                log_prob=policy.log_prob(action),
                value=value,
                reward=out.reward.astype(jnp.float32),
                terminated=terminated,
                done=done,
                final_value=jnp.where(bootstrap, final_value, 0.0),
                episode_return=info["returned_episode_returns"],
                episode_length=info["returned_episode_lengths"],
            )
            return (out.env_state, out.next_obs, done, memory, rng), transition

        init = (state.env_state, state.obs, state.is_first, state.carry, state.rng)
        (env_state, obs, is_first, memory, rng), traj = jax.lax.scan(
            step, init, None, length=self.algo.num_steps
        )
        last_value = self.network.apply(
            params, memory, obs, is_first, method=ActorCritic.value_step
        )
        state = state.replace(
            env_state=env_state, obs=obs, is_first=is_first, carry=memory, rng=rng
        )
        return state, traj, last_value

    def replay(self, params: Any, carry: Any, traj: Transition) -> tuple[jax.Array, jax.Array, Any]:
        """Sequence mode over stored steps `[T, b]` from `carry` (gradient stopped):
        `(log_prob[T, b], value[T, b], policy)` of the stored actions."""
        carry = jax.lax.stop_gradient(carry)
        _, (policy, value) = self.network.apply(params, carry, traj.obs, traj.is_first)
        return policy.log_prob(traj.action), value, policy

    # ---- learning ----------------------------------------------------------------------------

    def loss(self, params, carry, traj: Transition, advantages, targets, hparams):
        """Clipped PPO loss on one minibatch `[T, b]` with the member's `hparams` (clip_eps,
        ent_coef, vf_coef); returns `(loss, metrics)`."""
        algo = self.algo
        clip_eps = hparams["clip_eps"]
        log_prob, value, policy = self.replay(params, carry, traj)
        # [T, b] everywhere: a [T, b, 1] here would broadcast the loss to [T, b, b] silently.
        chex.assert_equal_shape([log_prob, traj.log_prob, value, traj.value, advantages,
                                 targets])
        log_ratio = log_prob - traj.log_prob
        ratio = jnp.exp(log_ratio)
        if algo.normalize_advantages:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        clipped_ratio = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
        actor_loss = -jnp.mean(jnp.minimum(ratio * advantages, clipped_ratio * advantages))
        value_error = jnp.square(value - targets)
        if algo.clip_value:
            clipped_value = traj.value + jnp.clip(value - traj.value, -clip_eps, clip_eps)
            value_error = jnp.maximum(value_error, jnp.square(clipped_value - targets))
        value_loss = 0.5 * jnp.mean(value_error)
        entropy = jnp.mean(policy.entropy())
        total = actor_loss + hparams["vf_coef"] * value_loss - hparams["ent_coef"] * entropy
        metrics = {
            "loss/total": total,
            "loss/actor": actor_loss,
            "loss/value": value_loss,
            "loss/entropy": entropy,
            # k3 estimator of KL(old || new): E[(r - 1) - log r]
            "loss/approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
            "loss/clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > clip_eps),
        }
        return total, metrics

    def iteration(self, state: PPOState) -> tuple[PPOState, dict[str, jax.Array]]:
        """One PPO update (rollout, GAE, epochs x minibatches); metrics are scalars."""
        algo = self.algo
        B, T, M = algo.num_envs, algo.num_steps, algo.num_minibatches
        carry0 = state.carry
        state, traj, last_value = self.rollout(state)
        advantages, targets = gae(
            traj.reward,
            traj.value,
            next_values(traj.value, last_value, traj.final_value, traj.done),
            traj.terminated,
            traj.done,
            algo.gamma,
            state.hparams["gae_lambda"],
        )
        rng, k_epochs = jax.random.split(state.rng)
        batch = (traj, advantages, targets)
        grad_fn = jax.grad(self.loss, has_aux=True)

        def minibatch(opt, mb):
            params, opt_state = opt
            carry, (mb_traj, mb_adv, mb_targets) = mb
            # Under a device mesh: each device takes its share of the minibatch's environments
            # and the compiler averages gradients across devices (no-op on one device).
            carry = shard_env_axis(carry, axis=0)
            mb_traj, mb_adv, mb_targets = shard_env_axis((mb_traj, mb_adv, mb_targets), axis=1)
            grads, metrics = grad_fn(params, carry, mb_traj, mb_adv, mb_targets, state.hparams)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            updates = jax.tree.map(lambda u: -state.hparams["learning_rate"] * u, updates)
            return (optax.apply_updates(params, updates), opt_state), metrics

        def epoch(opt, key):
            perm = jax.random.permutation(key, B)
            # [T, B, ...] -> envs shuffled -> [M, T, B/M, ...]; carry [B, ...] -> [M, B/M, ...]
            split_time = lambda x: jnp.moveaxis(
                jnp.take(x, perm, axis=1).reshape(T, M, B // M, *x.shape[2:]), 1, 0
            )
            split_carry = lambda x: jnp.take(x, perm, axis=0).reshape(M, B // M, *x.shape[1:])
            mbs = (jax.tree.map(split_carry, carry0), jax.tree.map(split_time, batch))
            return jax.lax.scan(minibatch, opt, mbs)

        (params, opt_state), loss_metrics = jax.lax.scan(
            epoch, (state.params, state.opt_state), jax.random.split(k_epochs, algo.update_epochs)
        )
        state = state.replace(
            params=params, opt_state=opt_state, rng=rng, update_step=state.update_step + 1
        )
        metrics = {k: jnp.mean(v) for k, v in loss_metrics.items()}
        metrics["params/norm"] = optax.tree.norm(params)  # also the host's NaN/inf check
        metrics.update(
            episode_statistics(traj.done, traj.episode_return, traj.episode_length)
        )
        return state, metrics


__all__ = ["PPOState", "RecurrentPPO", "Transition"]
