"""The recurrent actor-critic: observation -> memory (ssm_rl) -> policy and value heads.

    features = memory(obs, is_first)                 # [*, d_model], any ssm_rl memory
    policy   = ActionHead(act(Dense(features)))      # distribution over actions
    value    = Dense(1)(act(Dense(features)))        # scalar

The memory runs in step mode during rollouts (`step`) and in sequence mode over whole
environment sequences during the update (`__call__`); both give the same outputs
(the memory contract), which is what makes the PPO ratio start at exactly 1.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from agents.common.action_heads import ActionHead
from agents.common.distributions import Distribution
from ssm_rl.memory import Memory

ACTIVATIONS = {"relu": nn.relu, "tanh": jnp.tanh, "gelu": nn.gelu, "silu": nn.silu}


class ActorCritic(Memory):
    """Memory-based actor-critic.

    Sequence mode: `obs[T, *batch, D]`, `is_first[T, *batch]` ->
      `(carry, (policy over [T, *batch], value[T, *batch]))`.
    Step mode: `obs[*batch, D]`, `is_first[*batch]` -> `(carry, (policy, value[*batch]))`.
    The carry is the memory's carry (leading axes `*batch`).
    """

    memory: Memory
    action_head: ActionHead
    head_hidden: int = 256
    activation: str = "relu"

    def setup(self) -> None:
        act = ACTIVATIONS[self.activation]
        orth = nn.initializers.orthogonal
        self.actor_torso = nn.Sequential(
            [nn.Dense(self.head_hidden, kernel_init=orth(2**0.5)), act]
        )
        self.critic_torso = nn.Sequential(
            [nn.Dense(self.head_hidden, kernel_init=orth(2**0.5)), act]
        )
        self.value_out = nn.Dense(1, kernel_init=orth(1.0))

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Any:
        return self.memory.initialize_carry(batch_shape)

    def _heads(self, features: jax.Array) -> tuple[Distribution, jax.Array]:
        policy = self.action_head(self.actor_torso(features))
        value = self.value_out(self.critic_torso(features))[..., 0]
        return policy, value

    def __call__(self, carry: Any, obs: jax.Array, is_first: jax.Array):
        carry, features = self.memory(carry, obs, is_first)
        return carry, self._heads(features)

    def step(self, carry: Any, obs: jax.Array, is_first: jax.Array):
        carry, features = self.memory.step(carry, obs, is_first)
        return carry, self._heads(features)

    def value_step(self, carry: Any, obs: jax.Array, is_first: jax.Array) -> jax.Array:
        """Value `[*batch]` of one more step from `carry`, without the policy head."""
        _, features = self.memory.step(carry, obs, is_first)
        return self.value_out(self.critic_torso(features))[..., 0]


def check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"network activation {name!r} is not one of {tuple(ACTIVATIONS)}")
