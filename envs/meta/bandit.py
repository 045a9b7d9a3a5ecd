"""Bernoulli bandit meta-tasks: a fresh bandit every episode, learned in context.

Each episode (= one trial of the bandit task) draws the payout probabilities of the active
arms from a Beta prior, `p_i ~ Beta(prior_a, prior_b)` for `i < num_arms`, and lasts
`horizon` pulls. Pulling arm `a` pays reward 1 with probability `p_a`, else 0; arms from
`num_arms` to `max_arms - 1` are inactive and never pay (`p = 0`), so one agent with
`Discrete(max_arms)` actions can be tested on more arms than it was trained on. The
observation is `[steps left / horizon]`; the agent learns from its previous action and reward
(`PreviousActionWrapper`, on by default). The episode terminates after `horizon` pulls (the
horizon is part of the task: no bootstrap beyond it).

Randomness is split so that reference policies can be scored on the very same draws: the
reset key gives `p`, and the step key gives one uniform `u_t` per step; pull `a` pays iff
`u_t < p_a`, whichever arm is pulled (`bandit_references` plays this env with the agent's keys).

Registered ids (suite "meta", `env=meta_bandit` in the configs): `MetaBandit-train` (5 arms,
100 pulls, uniform prior), held out `MetaBandit-test_arms` (10 arms), `MetaBandit-test_horizon`
(200 pulls), `MetaBandit-test_prior` (Beta(0.5, 0.5): arms near 0 or 1), and
`MetaBandit-two_arms` (2 arms, 100 pulls: the Bayes-optimal value is computable).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

from envs.spaces import CountsActions

MAX_ARMS = 10


@struct.dataclass
class BanditParams:
    num_arms: int = 5  # active arms (<= max_arms)
    horizon: int = 100  # pulls per episode
    prior_a: float = 1.0  # Beta prior of every active arm's payout probability
    prior_b: float = 1.0

    @property
    def max_steps_in_episode(self) -> int:
        """Above the horizon: episodes end by termination, never by gymnax's truncation."""
        return self.horizon + 1


@struct.dataclass
class BanditState:
    payout_probs: jax.Array  # float32[max_arms], 0 for inactive arms
    time: jax.Array  # int32 pulls so far


def sample_payout_probs(key: jax.Array, params: BanditParams, max_arms: int) -> jax.Array:
    """`p[max_arms]`: Beta(prior_a, prior_b) for the first `num_arms` arms, 0 after."""
    probs = jax.random.beta(key, params.prior_a, params.prior_b, (max_arms,))
    return jnp.where(jnp.arange(max_arms) < params.num_arms, probs, 0.0)


class BernoulliBandit(CountsActions, Environment):
    """`Discrete(max_arms)` pulls, reward in {0, 1}, observation `[steps left / horizon]`."""

    def __init__(self, max_arms: int = MAX_ARMS):
        if not isinstance(max_arms, int) or max_arms < 2:
            raise ValueError(f"max_arms must be an int >= 2, got {max_arms!r}")
        self.max_arms = max_arms

    @property
    def default_params(self) -> BanditParams:
        return BanditParams()

    def _obs(self, time: jax.Array, params: BanditParams) -> jax.Array:
        return jnp.reshape(1.0 - time / params.horizon, (1,)).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: BanditParams) -> tuple[jax.Array, BanditState]:
        state = BanditState(sample_payout_probs(key, params, self.max_arms), jnp.int32(0))
        return self._obs(state.time, params), state

    def step_env(self, key: jax.Array, state: BanditState, action: jax.Array,
                 params: BanditParams) -> tuple[jax.Array, BanditState, jax.Array, jax.Array, dict]:
        reward = (jax.random.uniform(key) < state.payout_probs[action]).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        done = state.time >= params.horizon
        return self._obs(state.time, params), state, reward, done, {}

    def is_terminal(self, state: BanditState, params: BanditParams) -> jax.Array:
        return state.time >= params.horizon

    def action_space(self, params: BanditParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.max_arms)

    def observation_space(self, params: BanditParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (1,), jnp.float32)

    @property
    def name(self) -> str:
        return "BernoulliBandit"


BANDIT_SPLITS: dict[str, BanditParams] = {
    "train": BanditParams(),
    "test_arms": BanditParams(num_arms=10),
    "test_horizon": BanditParams(horizon=200),
    "test_prior": BanditParams(prior_a=0.5, prior_b=0.5),
    "two_arms": BanditParams(num_arms=2),
}


def make_bandit(split: str = "train", **overrides) -> tuple[BernoulliBandit, BanditParams]:
    """`(env, params)` of a split of `BANDIT_SPLITS`, fields overridden by `overrides`
    (`num_arms`, `horizon`, `prior_a`, `prior_b`)."""
    if split not in BANDIT_SPLITS:
        raise ValueError(f"unknown bandit split {split!r}; available: {sorted(BANDIT_SPLITS)}")
    unknown = sorted(set(overrides) - {"num_arms", "horizon", "prior_a", "prior_b"})
    if unknown:
        raise ValueError(f"unknown bandit option(s) {unknown}; allowed: num_arms, horizon, "
                         "prior_a, prior_b")
    params = BANDIT_SPLITS[split].replace(**overrides)
    if not (isinstance(params.num_arms, int) and 1 <= params.num_arms <= MAX_ARMS):
        raise ValueError(f"num_arms={params.num_arms!r} must be an int in [1, {MAX_ARMS}]")
    if not (isinstance(params.horizon, int) and params.horizon >= 1):
        raise ValueError(f"horizon={params.horizon!r} must be a positive int")
    if not (params.prior_a > 0 and params.prior_b > 0):
        raise ValueError(f"prior_a={params.prior_a!r} and prior_b={params.prior_b!r} must be > 0")
    return BernoulliBandit(), params
