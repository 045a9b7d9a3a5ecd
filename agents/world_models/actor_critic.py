"""Actor-critic learned in imagination (DreamerV3 recipe, discrete actions).

On an imagined trajectory (`imagination.Imagined`: states s_0..s_H, actions a_0..a_{H-1},
rewards r_t and continue probabilities c_t after each action):

    v_t      = critic(s_t)   (two-hot, symlog bins)
    R_t      = r_t + γ c_t ((1 - λ) v_{t+1} + λ R_{t+1}),   R_H = v_H
    w_t      = Π_{k<t} γ c_k                       (chance that s_t is reached, discounted)
    A_t      = (R_t - v_t) / max(1, EMA(P95(R) - P5(R)))
    actor    = -Σ w_t [ sg(A_t) log π(a_t | sg(s_t)) + η H(π(· | s_t)) ]    (REINFORCE)
    critic   = -Σ w_t [ log p(sg(R_t) | s_t) + log p(sg(v_slow(s_t)) | s_t) ]

The gradient reaches the actor through `log π(a_t | s_t)` of the sampled action, never through
the sample (a sampled discrete action has no gradient). The slow critic is an EMA of the critic.
"""

from __future__ import annotations

from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from agents.common.distributions import Categorical
from agents.common.dreamer_math import ReturnScale, TwoHot, lambda_returns
from agents.world_models.imagination import Imagined
from agents.world_models.networks import MLP


class Actor(nn.Module):
    """`s[..., F]` -> Categorical over `num_actions` with `unimix` uniform mixed in."""

    num_actions: int
    width: int = 256
    layers: int = 2
    unimix: float = 0.01

    @nn.compact
    def __call__(self, feat: jax.Array) -> Categorical:
        logits = MLP(self.width, self.layers, out=self.num_actions)(feat)
        probs = (1.0 - self.unimix) * jax.nn.softmax(logits, -1) + self.unimix / self.num_actions
        return Categorical(jnp.log(probs))


class Critic(nn.Module):
    """`s[..., F]` -> two-hot value logits `[..., bins]` (output layer starts at zero)."""

    bins: int = 255
    width: int = 256
    layers: int = 2

    @nn.compact
    def __call__(self, feat: jax.Array) -> jax.Array:
        return MLP(self.width, self.layers, out=self.bins, zero_out=True)(feat)


@struct.dataclass
class ActorCriticConfig:
    gamma: float = 0.997
    lam: float = 0.95
    entropy: float = 3e-4
    slow_reg: float = 1.0
    return_decay: float = 0.99


def actor_critic_loss(
    actor: Actor,
    critic: Critic,
    actor_params: Any,
    critic_params: Any,
    slow_critic_params: Any,
    traj: Imagined,
    return_scale: ReturnScale,
    twohot: TwoHot,
    config: ActorCriticConfig,
) -> tuple[jax.Array, tuple[ReturnScale, dict[str, jax.Array]]]:
    """Actor plus critic loss on `traj` (no gradient reaches the world model).

    Returns `(loss, (updated return scale, metrics))`; differentiate w.r.t. the first two
    parameter arguments.
    """
    sg = jax.lax.stop_gradient
    feat = sg(traj.feat)  # [H+1, B, F]
    reward, cont = sg(traj.reward), sg(traj.cont)  # [H, B]
    value = twohot.mean(critic.apply(sg(critic_params), feat))  # [H+1, B]
    returns = lambda_returns(reward, cont, value, config.gamma, config.lam)  # [H, B]
    discount = config.gamma * cont
    weight = jnp.cumprod(jnp.concatenate([jnp.ones_like(discount[:1]), discount[:-1]]), axis=0)
    new_scale = return_scale.update(returns, config.return_decay)
    advantage = sg((returns - value[:-1]) / new_scale.scale)

    policy = actor.apply(actor_params, feat[:-1])
    log_prob = policy.log_prob(traj.action)
    entropy = policy.entropy()
    chex.assert_equal_shape([weight, advantage, log_prob, entropy, returns])  # [H, B]
    actor_loss = -jnp.mean(weight * (advantage * log_prob + config.entropy * entropy))

    logits = critic.apply(critic_params, feat[:-1])
    slow_value = twohot.mean(critic.apply(slow_critic_params, feat[:-1]))
    regulariser = config.slow_reg * twohot.loss(logits, sg(slow_value))
    critic_loss = jnp.mean(weight * (twohot.loss(logits, sg(returns)) + regulariser))
    metrics = {
        "ac/actor_loss": actor_loss,
        "ac/critic_loss": critic_loss,
        "ac/entropy": entropy.mean(),
        "ac/return": returns.mean(),
        "ac/value": value.mean(),
        "ac/return_scale": new_scale.scale,
        "ac/imagined_reward": reward.mean(),
    }
    return actor_loss + critic_loss, (new_scale, metrics)
