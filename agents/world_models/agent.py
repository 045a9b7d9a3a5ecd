"""A world-model agent that learns in imagination (DreamerV3 recipe, S4WM/Drama models).

One iteration (per seed; N = num_envs, K = env_steps_per_iteration), all inside `jit`:

1. Collect: `lax.scan` over K steps. The agent encodes `obs[N]` (posterior latent), forms
   `s_t = [h_prev, z_t]`, samples `a_t ~ π(s_t)`, advances the world model's memory in step mode
   and steps the envs (auto-reset). Records `(obs, action, reward, is_first, is_last,
   is_terminal)` go into the replay buffer (`replay.py`).
2. Train (once every env holds `prefill` records): `updates_per_iteration` times
   a. world model: `batch_size` windows of `batch_length` -> `world_model_loss` -> Adam;
   b. actor-critic: `imag_batch` contexts of `imag_context` records -> warm-up in sequence mode
      -> `horizon` imagined steps in step mode -> `actor_critic_loss` -> Adam; slow critic EMA.

`DreamerAgent(config)` (or `agents.common.training.make_trainer(config)`) is a
`agents.common.trainer.Trainer`: pure `init(rng)` and `iteration(state)`, plus the base class's
`run(state, n, max_n)` (one compiled program for any n) and `train(state)`. Seeds are a leading
axis under `jax.vmap`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from gymnax.environments import spaces

from agents.common.acting import act_and_step
from agents.common.config import agent_env
from agents.common.dreamer_math import ReturnScale, TwoHot
from agents.common.episodes import episode_statistics
from agents.common.trainer import Trainer
from agents.world_models.actor_critic import Actor, ActorCriticConfig, Critic, actor_critic_loss
from agents.world_models.config import TrainWMConfig
from agents.world_models.imagination import rollout, start_from_context
from agents.world_models.latents import mode_onehot, sample_straight_through
from agents.world_models.replay import Replay, Transitions, add, create_replay, sample
from agents.world_models.world_model import (
    LossScales,
    WMState,
    WorldModel,
    features,
    world_model_loss,
)
from envs.wrappers import VecEnv
from ssm_rl.memory import make_memory


@struct.dataclass
class AgentState:
    """Everything a run needs to continue, for one seed (a single pytree)."""

    wm_params: Any
    actor_params: Any
    critic_params: Any
    slow_critic_params: Any
    wm_opt: Any
    actor_opt: Any
    critic_opt: Any
    return_scale: ReturnScale
    replay: Replay
    env_state: Any  # batched env state, leading axis N
    obs: jax.Array  # [N, *obs_shape], to act on next
    is_first: jax.Array  # [N] bool: `obs` starts an episode
    wm_state: WMState  # the acting model's state before `obs`, leading axis N
    rng: jax.Array
    iteration: jax.Array  # int32 iterations done


def _optimizer(lr: float, eps: float, max_norm: float) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(lr, eps=eps))


class DreamerAgent(Trainer):
    """Pure functions of one seed's `AgentState` (see the module docstring).

    `env, env_params`: any env object with the gymnax 1.x API (Discrete actions), to train
    on an environment that is not in `envs.registry` (default: the one `config.env` names);
    it is wrapped as `config.env` says (`agents.common.config.agent_env`).
    """

    unit = "iteration"
    per_env_fields = ("env_state", "obs", "is_first", "wm_state", "replay.data",
                      "replay.counts")

    def __init__(self, config: TrainWMConfig, env: Any = None, env_params: Any = None):
        config.validate(env_known=env is not None)
        self.config = config
        self.steps_per_iteration = config.agent.steps_per_iteration
        self.num_iterations = config.agent.num_iterations
        env, env_params = agent_env(config.env, env, env_params)
        action_space = env.action_space(env_params)
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(
                f"the world-model agent supports Discrete action spaces only, got {action_space!r}"
            )
        self.env, self.env_params = VecEnv(env), env_params
        self.obs_shape = tuple(env.observation_space(env_params).shape)
        self.num_actions = int(action_space.n)
        wm, agent = config.world_model, config.agent
        self.model = WorldModel(
            memory=make_memory(config.memory_name, **config.memory_options),
            obs_shape=self.obs_shape,
            num_actions=self.num_actions,
            latent_groups=wm.latent_groups,
            latent_classes=wm.latent_classes,
            unimix=wm.unimix,
            width=wm.width,
            mlp_layers=wm.mlp_layers,
            reward_bins=wm.reward_bins,
            zero_reward_head=wm.zero_reward_head,
        )
        self.actor = Actor(self.num_actions, agent.actor_width, agent.actor_layers, wm.unimix)
        self.critic = Critic(wm.reward_bins, agent.actor_width, agent.actor_layers)
        self.twohot = TwoHot.create(wm.reward_bins, unit=wm.reward_unit)  # rewards and values
        self.loss_scales = LossScales(
            wm.decoder_scale, wm.reward_scale, wm.continue_scale, wm.dyn_scale, wm.rep_scale,
            wm.free_nats,
        )
        self.ac_config = ActorCriticConfig(
            agent.gamma, agent.lam, agent.entropy, agent.slow_reg, agent.return_decay
        )
        self.wm_tx = _optimizer(wm.learning_rate, wm.adam_eps, wm.max_grad_norm)
        self.actor_tx = _optimizer(agent.actor_lr, 1e-5, agent.ac_max_grad_norm)
        self.critic_tx = _optimizer(agent.critic_lr, 1e-5, agent.ac_max_grad_norm)

    def mesh_divisors(self) -> dict[str, int]:
        return {"agent.num_envs": self.config.agent.num_envs}

    def row_scalars(self, metrics: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        """Row `i` of a chunk's host metrics, NaN where there is no value (episode statistics
        when no episode ended, training statistics before training starts)."""
        row = super().row_scalars(metrics, i)
        not_trained = row["train/ready"] == 0
        return {k: np.where(not_trained, np.nan, v) if k.startswith(("wm/", "ac/")) else v
                for k, v in row.items()}

    @property
    def feature_size(self) -> int:
        return self.model.memory.d_model + self.model.latent_size

    # --- state --------------------------------------------------------------------------------

    def init(self, rng: jax.Array) -> AgentState:
        """Fresh state for one seed: reset envs, init networks, optimisers and replay."""
        agent = self.config.agent
        n = agent.num_envs
        rng, k_env, k_wm, k_actor, k_critic = jax.random.split(rng, 5)
        obs, env_state = self.env.reset(jax.random.split(k_env, n), self.env_params)
        wm_state = self.model.initial_state((n,))
        is_first = jnp.ones((n,), bool)
        action = jnp.zeros((n,), jnp.int32)
        wm_params = self.model.init(k_wm, k_wm, wm_state, obs[None], action[None], is_first[None])
        feat = jnp.zeros((self.feature_size,))
        actor_params = self.actor.init(k_actor, feat)
        critic_params = self.critic.init(k_critic, feat)
        example = Transitions(
            obs=obs[0], action=action[0], reward=jnp.zeros((), jnp.float32),
            is_first=is_first[0], is_last=is_first[0], is_terminal=is_first[0],
        )
        return AgentState(
            wm_params=wm_params,
            actor_params=actor_params,
            critic_params=critic_params,
            slow_critic_params=critic_params,
            wm_opt=self.wm_tx.init(wm_params),
            actor_opt=self.actor_tx.init(actor_params),
            critic_opt=self.critic_tx.init(critic_params),
            return_scale=ReturnScale.create(),
            replay=create_replay(example, n, agent.replay_capacity),
            env_state=env_state,
            obs=obs,
            is_first=is_first,
            wm_state=wm_state,
            rng=rng,
            iteration=jnp.zeros((), jnp.int32),
        )

    # --- acting -------------------------------------------------------------------------------

    def policy_step(
        self, wm_params: Any, actor_params: Any, wm_state: WMState, obs: jax.Array,
        is_first: jax.Array, keys: tuple[jax.Array, jax.Array], greedy: bool = False,
    ) -> tuple[jax.Array, WMState]:
        """Posterior latent `z_t` of `obs[N]`, the actor on `s_t = [h_prev, z_t]`, one memory
        step on `[z_t, a_t]`: `(action[N], wm_state after)`. `keys = (latent key, action key)`;
        `greedy` takes both modes instead of samples."""
        k_latent, k_action = keys
        post = self.model.apply(wm_params, obs, method=WorldModel.posterior)
        z = mode_onehot(post) if greedy else sample_straight_through(k_latent, post)
        z = z.reshape((obs.shape[0], -1))
        pi = self.actor.apply(actor_params, features(wm_state, z, is_first))
        action = pi.mode() if greedy else pi.sample(seed=k_action)
        wm_state = self.model.apply(wm_params, wm_state, z, action, is_first,
                                    method=WorldModel.step)
        return action, wm_state

    def act(
        self, state: AgentState, key: jax.Array
    ) -> tuple[AgentState, Transitions, dict[str, jax.Array]]:
        """One env step for the batch: returns the new state, the record `[N]` and `info`."""
        k_latent, k_action, k_env = jax.random.split(key, 3)

        def policy(obs, is_first, keys):
            return self.policy_step(state.wm_params, state.actor_params, state.wm_state, obs,
                                    is_first, keys)

        wm_state, out = act_and_step(self.env, self.env_params, state.env_state, state.obs,
                                     state.is_first, (k_latent, k_action), k_env, policy)
        record = Transitions(
            obs=state.obs, action=out.action, reward=out.reward.astype(jnp.float32),
            is_first=state.is_first, is_last=out.done, is_terminal=out.terminated,
        )
        state = state.replace(env_state=out.env_state, obs=out.next_obs, is_first=out.done,
                              wm_state=wm_state)
        return state, record, out.info

    def collect(self, state: AgentState) -> tuple[AgentState, dict[str, jax.Array]]:
        """K env steps per env into the replay; episode metrics of the episodes that ended."""
        rng, key = jax.random.split(state.rng)
        keys = jax.random.split(key, self.config.agent.env_steps_per_iteration)

        def body(state, key):
            state, record, info = self.act(state, key)
            return state, (record, info)

        state, (records, info) = jax.lax.scan(body, state.replace(rng=rng), keys)
        state = state.replace(replay=add(state.replay, records))
        return state, episode_statistics(info["returned_episode"],
                                         info["returned_episode_returns"],
                                         info["returned_episode_lengths"])

    # --- learning -----------------------------------------------------------------------------

    def imagine(self, wm_params: Any, actor_params: Any, key: jax.Array, context: Transitions):
        """Warm up on `context[C, B]`, then imagine `horizon` steps with the actor."""
        k_start, k_roll = jax.random.split(key)
        wm_state, z, is_first = start_from_context(self.model, wm_params, k_start, context)

        def policy(k, feat):
            return self.actor.apply(actor_params, feat).sample(seed=k)

        return rollout(self.model, wm_params, self.twohot, k_roll, wm_state, z, is_first,
                       self.config.agent.horizon, policy=policy)

    def update(self, state: AgentState) -> tuple[AgentState, dict[str, jax.Array]]:
        """One world-model update and one actor-critic update."""
        agent = self.config.agent
        rng, k_batch, k_wm, k_ctx, k_img = jax.random.split(state.rng, 5)
        batch, replay = sample(state.replay, k_batch, agent.batch_size, agent.batch_length,
                               agent.frequency_tau)

        def wm_loss(params):
            return world_model_loss(self.model, params, k_wm, batch, self.twohot,
                                    self.loss_scales)

        (_, wm_metrics), grads = jax.value_and_grad(wm_loss, has_aux=True)(state.wm_params)
        updates, wm_opt = self.wm_tx.update(grads, state.wm_opt, state.wm_params)
        wm_params = optax.apply_updates(state.wm_params, updates)

        context, _ = sample(replay, k_ctx, agent.imag_batch, agent.imag_context)
        traj = self.imagine(wm_params, state.actor_params, k_img, context)

        def ac_loss(actor_params, critic_params):
            return actor_critic_loss(self.actor, self.critic, actor_params, critic_params,
                                     state.slow_critic_params, traj, state.return_scale,
                                     self.twohot, self.ac_config)

        (_, (return_scale, ac_metrics)), (g_actor, g_critic) = jax.value_and_grad(
            ac_loss, argnums=(0, 1), has_aux=True
        )(state.actor_params, state.critic_params)
        a_updates, actor_opt = self.actor_tx.update(g_actor, state.actor_opt, state.actor_params)
        c_updates, critic_opt = self.critic_tx.update(
            g_critic, state.critic_opt, state.critic_params
        )
        actor_params = optax.apply_updates(state.actor_params, a_updates)
        critic_params = optax.apply_updates(state.critic_params, c_updates)
        decay = agent.slow_critic_decay
        slow = jax.tree.map(lambda s, c: decay * s + (1.0 - decay) * c,
                            state.slow_critic_params, critic_params)
        state = state.replace(
            wm_params=wm_params, actor_params=actor_params, critic_params=critic_params,
            slow_critic_params=slow, wm_opt=wm_opt, actor_opt=actor_opt, critic_opt=critic_opt,
            return_scale=return_scale, replay=replay, rng=rng,
        )
        return state, {**wm_metrics, **ac_metrics}

    def iteration(self, state: AgentState) -> tuple[AgentState, dict[str, jax.Array]]:
        """Collect, then train if the replay holds `prefill` records per env."""
        agent = self.config.agent
        state, episode = self.collect(state)
        update_shapes = jax.eval_shape(self.update, state)[1]

        def train(state):
            state, metrics = jax.lax.scan(
                lambda s, _: self.update(s), state, None, agent.updates_per_iteration
            )
            return state, jax.tree.map(lambda m: m.mean(0), metrics)

        def skip(state):
            return state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), update_shapes)

        ready = (state.replay.size >= agent.prefill) & (agent.updates_per_iteration > 0)
        state, train_metrics = jax.lax.cond(ready, train, skip, state)
        state = state.replace(iteration=state.iteration + 1)
        return state, {**episode, **train_metrics, "train/ready": ready.astype(jnp.float32)}
