"""The recurrent actor-critic: observation -> memory (ssm_rl) -> policy and value heads.

    features = memory(obs, is_first)                 # [*, d_model], any ssm_rl memory
    policy   = ActionHead(act(Dense(features)))      # distribution over actions
    value    = Dense(1)(act(Dense(features)))        # scalar

With `critic_memory` the critic reads its own memory of the same observations instead
(`value = Dense(1)(act(Dense(critic_memory(obs, is_first))))`): separate actor and critic
networks, as CleanRL-style recurrent PPO and memorax build them, so the value loss does not
shape the policy's memory. The carry is then `(actor carry, critic carry)`.

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
from ssm_rl.memory import Memory

ACTIVATIONS = {"relu": nn.relu, "tanh": jnp.tanh, "gelu": nn.gelu, "silu": nn.silu}


class ActorCritic(Memory):
    """Memory-based actor-critic.

    Sequence mode: `obs[T, *batch, D]`, `is_first[T, *batch]` ->
      `(carry, (policy over [T, *batch], value[T, *batch]))`.
    Step mode: `obs[*batch, D]`, `is_first[*batch]` -> `(carry, (policy, value[*batch]))`.
    The carry is the memory's carry (leading axes `*batch`), or the pair of both memories'
    carries with `critic_memory`.
    """

    memory: Memory
    action_head: ActionHead
    critic_memory: Memory | None = None  # None: the critic shares the actor's memory
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
        if self.critic_memory is None:
            return self.memory.initialize_carry(batch_shape)
        return (self.memory.initialize_carry(batch_shape),
                self.critic_memory.initialize_carry(batch_shape))

    def _value(self, features: jax.Array) -> jax.Array:
        return self.value_out(self.critic_torso(features))[..., 0]

    def _run(self, method: str, carry: Any, obs: jax.Array, is_first: jax.Array):
        """`(carry, (policy, value))` with each memory's `method` ("__call__" or "step")."""
        if self.critic_memory is None:
            carry, features = getattr(self.memory, method)(carry, obs, is_first)
            return carry, (self.action_head(self.actor_torso(features)), self._value(features))
        actor_carry, features = getattr(self.memory, method)(carry[0], obs, is_first)
        critic_carry, critic_features = getattr(self.critic_memory, method)(carry[1], obs,
                                                                             is_first)
        policy = self.action_head(self.actor_torso(features))
        return (actor_carry, critic_carry), (policy, self._value(critic_features))

    def __call__(self, carry: Any, obs: jax.Array, is_first: jax.Array):
        return self._run("__call__", carry, obs, is_first)

    def step(self, carry: Any, obs: jax.Array, is_first: jax.Array):
        return self._run("step", carry, obs, is_first)

    def value_step(self, carry: Any, obs: jax.Array, is_first: jax.Array) -> jax.Array:
        """Value `[*batch]` of one more step from `carry`, without the policy head."""
        if self.critic_memory is None:
            return self._value(self.memory.step(carry, obs, is_first)[1])
        return self._value(self.critic_memory.step(carry[1], obs, is_first)[1])


def check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"network activation {name!r} is not one of {tuple(ACTIVATIONS)}")
