"""Imagination: warm up on a real context in sequence mode, then roll the model in step mode.

`start_from_context` runs the first C-1 records of a context `[C, B]` through the parallel pass
and encodes the last observation, giving the state `(WMState, z, is_first)` from which the
agent would act at step C-1. `rollout` then steps the same memory H times. Actions come from a
policy (training) or are given (evaluation); latents are sampled from the prior (imagination)
or given (teacher forcing). With the true posterior latents and actions, the rolled-out `h`
equals the parallel pass's `h` (tests/test_wm_model.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from agents.common.dreamer_math import TwoHot
from agents.world_models.latents import sample_straight_through
from agents.world_models.replay import Transitions
from agents.world_models.world_model import WMState, WorldModel, features

Policy = Callable[[jax.Array, jax.Array], jax.Array]  # (key, feat[B, F]) -> action int32 [B]


@struct.dataclass
class Imagined:
    """A rolled-out trajectory, time-major.

    `feat[H+1, B, F]` (states 0..H), `action[H, B]`, `h[H, B, d]` (after each action),
    `reward[H, B]` (two-hot mean), `cont[H, B]` (probability of going on after step t).
    """

    feat: jax.Array
    action: jax.Array
    h: jax.Array
    reward: jax.Array
    cont: jax.Array


def start_from_context(
    model: WorldModel, params: Any, key: jax.Array, context: Transitions
) -> tuple[WMState, jax.Array, jax.Array]:
    """Warm up on `context[C, B]` (C >= 2): returns `(state, z[B, G*C], is_first[B])` at C-1."""
    if context.reward.shape[0] < 2:
        raise ValueError(f"context needs at least 2 steps, got {context.reward.shape[0]}")
    observe_key, latent_key = jax.random.split(key)
    state = model.initial_state(context.reward.shape[1:])
    state, _ = model.apply(
        params,
        observe_key,
        state,
        context.obs[:-1],
        context.action[:-1],
        context.is_first[:-1],
        method=WorldModel.observe,
    )
    post = model.apply(params, context.obs[-1], method=WorldModel.posterior)
    z = sample_straight_through(latent_key, post)
    return state, z.reshape((*z.shape[:-2], -1)), context.is_first[-1]


def rollout(
    model: WorldModel,
    params: Any,
    twohot: TwoHot,
    key: jax.Array,
    state: WMState,
    z: jax.Array,
    is_first: jax.Array,
    horizon: int,
    policy: Policy | None = None,
    actions: jax.Array | None = None,
    latents: jax.Array | None = None,
    resets: jax.Array | None = None,
) -> Imagined:
    """Step the model `horizon` times from `(state, z, is_first)`.

    Exactly one of `policy` (sample `a_t = policy(key, s_t)`) and `actions[H, B]` must be given.
    `latents[H, B, G*C]`, if given, replace the prior samples for steps 1..H (teacher forcing).
    `resets[H, B]`, if given, are the `is_first` flags of steps 1..H (known episode starts,
    for evaluation on recorded data); otherwise no imagined step starts an episode.
    """
    if (policy is None) == (actions is None):
        raise ValueError("give exactly one of `policy` and `actions`")
    step_keys = jax.random.split(key, horizon)
    if resets is None:
        resets = jnp.zeros((horizon, *is_first.shape), bool)

    def body(carry, inputs):
        state, z, first = carry
        step_key, given_action, given_latent, next_first = inputs
        policy_key, prior_key = jax.random.split(step_key)
        feat = features(state, z, first)
        action = policy(policy_key, feat) if policy is not None else given_action
        state = model.apply(params, state, z, action, first, method=WorldModel.step)
        if given_latent is None:
            prior = model.apply(params, state.h, method=WorldModel.prior)
            z_next = sample_straight_through(prior_key, prior)
            z_next = jax.lax.stop_gradient(z_next.reshape(z.shape))
        else:
            z_next = given_latent
        return (state, z_next, next_first), (feat, action, state.h)

    (state, z, first), (feat, action, h) = jax.lax.scan(
        body, (state, z, is_first), (step_keys, actions, latents, resets)
    )
    feat = jnp.concatenate([feat, features(state, z, first)[None]], axis=0)
    reward = twohot.mean(model.apply(params, h, method=WorldModel.reward_logits))
    cont = jax.nn.sigmoid(model.apply(params, h, method=WorldModel.continue_logit))
    return Imagined(feat=feat, action=action, h=h, reward=reward, cont=cont)
