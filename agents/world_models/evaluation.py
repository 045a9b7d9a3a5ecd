"""S4WM-style evaluation of world models on offline data collected in JAX.

- `collect_random_dataset`: `num_sequences` episodes-from-reset of `length` steps under a
  uniform random policy (auto-reset inside; `is_first` marks episode starts).
- `train_offline`: Adam on `world_model_loss` over random windows of the dataset.
- `prediction_metrics`: after a real context of C steps (sequence mode), roll the model H steps
  in step mode with the recorded actions and episode starts, either *imagined* (latents from the
  prior) or *teacher-forced* (latents from the posterior of the true observations), and score
  per step: observation error (decoder target MSE), reward error, and reward-sign agreement on
  steps with a non-zero reward (balanced accuracy: chance is 0.5 whatever the class balance).
- `throughput`: training (loss + gradient) and imagination speed versus sequence length.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from agents.common.acting import act_and_step
from agents.common.dreamer_math import TwoHot
from agents.world_models.imagination import rollout
from agents.world_models.latents import sample_straight_through
from agents.world_models.networks import observation_target
from agents.world_models.replay import Transitions, add, create_replay, sample
from agents.world_models.world_model import LossScales, WorldModel, world_model_loss
from envs.wrappers import VecEnv


def collect_random_dataset(
    env: Any,
    env_params: Any,
    key: jax.Array,
    num_sequences: int,
    length: int,
    action_probs: jax.Array | None = None,
) -> Transitions:
    """Random-policy data `Transitions[length, num_sequences]` from fresh resets.

    `env` is a single gymnax env with vector observations and a Discrete action space; actions
    are drawn i.i.d. from `action_probs[num_actions]` (uniform if None).
    """
    num_actions = int(env.action_space(env_params).n)
    if action_probs is None:
        action_probs = jnp.full((num_actions,), 1.0 / num_actions)
    if jnp.shape(action_probs) != (num_actions,):
        raise ValueError(f"action_probs must have shape ({num_actions},), got "
                         f"{jnp.shape(action_probs)}")
    action_logits = jnp.log(jnp.asarray(action_probs, jnp.float32))
    envs = VecEnv(env)
    reset_key, run_key = jax.random.split(key)
    obs, state = envs.reset(jax.random.split(reset_key, num_sequences), env_params)

    def behaviour(obs, is_first, key):
        return jax.random.categorical(key, action_logits, shape=(num_sequences,)), None

    def body(carry, key):
        obs, state, first = carry
        _, step = act_and_step(envs, env_params, state, obs, first, *jax.random.split(key),
                               behaviour)
        record = Transitions(obs.astype(jnp.float32), step.action, step.reward.astype(jnp.float32),
                             first, step.done, step.terminated)
        return (step.next_obs, step.env_state, step.done), record

    first = jnp.ones((num_sequences,), bool)
    _, data = jax.lax.scan(body, (obs, state, first), jax.random.split(run_key, length))
    return data


def train_offline(
    model: WorldModel,
    params: Any,
    data: Transitions,
    key: jax.Array,
    *,
    steps: int,
    batch_size: int,
    window: int,
    learning_rate: float = 1e-3,
    twohot: TwoHot | None = None,
    scales: LossScales | None = None,
) -> tuple[Any, np.ndarray]:
    """`steps` Adam updates on random windows of `data[L, N]`; returns `(params, losses[steps])`."""
    twohot = twohot or TwoHot.create(model.reward_bins)
    scales = scales or LossScales()
    length, num = data.reward.shape
    replay = add(create_replay(jax.tree.map(lambda x: x[0, 0], data), num, length), data)
    tx = optax.chain(optax.clip_by_global_norm(1000.0), optax.adam(learning_rate))

    @jax.jit
    def run(params, key):
        def step(carry, key):
            params, opt_state = carry
            k_batch, k_loss = jax.random.split(key)
            batch, _ = sample(replay, k_batch, batch_size, window)
            (loss, _), grads = jax.value_and_grad(
                lambda p: world_model_loss(model, p, k_loss, batch, twohot, scales), has_aux=True
            )(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)),
                                           jax.random.split(key, steps))
        return params, losses

    params, losses = run(params, key)
    return params, np.asarray(losses)


def prediction_metrics(
    model: WorldModel,
    params: Any,
    data: Transitions,
    key: jax.Array,
    context: int,
    horizon: int,
    twohot: TwoHot | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-step prediction quality over `horizon` steps after `context` real steps.

    `data[L, N]` with `L >= context + horizon`. Returns `{"imagined": m, "teacher_forced": m}`
    with `m` holding per-step arrays `[horizon]`: `obs_mse`, `reward_mse`, and the counts
    `pos`, `neg`, `pos_hit`, `neg_hit` of non-zero true rewards and of those whose predicted
    sign agrees (for balanced accuracy over any range of steps).
    """
    if data.reward.shape[0] < context + horizon:
        raise ValueError(f"data has {data.reward.shape[0]} steps, need context + horizon = "
                         f"{context + horizon}")
    twohot = twohot or TwoHot.create(model.reward_bins)

    @jax.jit
    def evaluate(params, key):
        ctx = jax.tree.map(lambda x: x[:context], data)
        future = jax.tree.map(lambda x: x[context:context + horizon + 1], data)
        k_obs, k_post, k_img, k_tf = jax.random.split(key, 4)
        state = model.initial_state(data.reward.shape[1:])
        state, _ = model.apply(params, k_obs, state, ctx.obs, ctx.action, ctx.is_first,
                               method=WorldModel.observe)
        post = model.apply(params, future.obs, method=WorldModel.posterior)
        z_post = sample_straight_through(k_post, post).reshape((*post.shape[:-2], -1))
        n_future = future.reward.shape[0]
        latents = z_post[1:] if n_future > horizon else jnp.concatenate(
            [z_post[1:], jnp.zeros_like(z_post[:1])])
        resets = future.is_first[1:] if n_future > horizon else jnp.concatenate(
            [future.is_first[1:], jnp.zeros_like(future.is_first[:1])])
        actions = future.action[:horizon]
        target_obs = observation_target(future.obs[:horizon], model.obs_shape)
        true_reward = future.reward[:horizon]
        out = {}
        for name, k, given in (("imagined", k_img, None), ("teacher_forced", k_tf, latents)):
            traj = rollout(model, params, twohot, k, state, z_post[0], future.is_first[0],
                           horizon, actions=actions, latents=given, resets=resets)
            pred_obs = model.apply(params, traj.feat[:horizon], method=WorldModel.decode)
            event_axes = tuple(range(2, target_obs.ndim))
            pos, neg = true_reward > 0, true_reward < 0
            out[name] = {
                "obs_mse": jnp.mean(jnp.sum(jnp.square(pred_obs - target_obs), event_axes), 1),
                "reward_mse": jnp.mean(jnp.square(traj.reward - true_reward), 1),
                "pos": jnp.sum(pos, 1),
                "neg": jnp.sum(neg, 1),
                "pos_hit": jnp.sum(pos & (traj.reward > 0), 1),
                "neg_hit": jnp.sum(neg & (traj.reward < 0), 1),
            }
        return out

    return jax.tree.map(np.asarray, evaluate(params, key))


def summarize(per_step: dict[str, np.ndarray], horizons: list[int]) -> dict[str, dict]:
    """Averages over the first H steps for each H: obs/reward MSE and reward balanced accuracy
    (mean of the positive and negative hit rates over the classes present; NaN if none)."""
    out = {}
    for h in horizons:
        s = {k: v[:h] for k, v in per_step.items()}
        rates = [s[f"{c}_hit"].sum() / s[c].sum() for c in ("pos", "neg") if s[c].sum() > 0]
        out[str(h)] = {
            "obs_mse": float(s["obs_mse"].mean()),
            "reward_mse": float(s["reward_mse"].mean()),
            "reward_balanced_accuracy": float(np.mean(rates)) if rates else float("nan"),
            "nonzero_rewards": int(s["pos"].sum() + s["neg"].sum()),
        }
    return out


def throughput(
    model: WorldModel,
    params: Any,
    lengths: list[int],
    batch_size: int,
    repeats: int = 3,
) -> dict[str, dict[str, float]]:
    """Steps/s of a training step (loss + gradient over `[T, batch]`) and of imagination
    (`T` step-mode steps for `batch` rollouts), for each T in `lengths`; compile excluded."""
    twohot = TwoHot.create(model.reward_bins)
    results = {}
    key = jax.random.PRNGKey(0)
    for length in lengths:
        obs = jnp.zeros((length, batch_size, *model.obs_shape), jnp.float32)
        batch = Transitions(obs, jnp.zeros((length, batch_size), jnp.int32),
                            jnp.zeros((length, batch_size)),
                            jnp.zeros((length, batch_size), bool).at[0].set(True),
                            jnp.zeros((length, batch_size), bool),
                            jnp.zeros((length, batch_size), bool))
        grad = jax.jit(jax.grad(lambda p: world_model_loss(model, p, key, batch, twohot)[0]))
        state = model.initial_state((batch_size,))
        z = jnp.zeros((batch_size, model.latent_size))
        first = jnp.ones((batch_size,), bool)
        actions = jnp.zeros((length, batch_size), jnp.int32)
        imagine = jax.jit(lambda p: rollout(model, p, twohot, key, state, z, first, length,
                                            actions=actions).reward)
        row = {}
        for name, fn in (("train_steps_per_s", grad), ("imagine_steps_per_s", imagine)):
            jax.block_until_ready(fn(params))
            start = time.perf_counter()
            for _ in range(repeats):
                jax.block_until_ready(fn(params))
            row[name] = length * batch_size * repeats / (time.perf_counter() - start)
        results[str(length)] = row
    return results
