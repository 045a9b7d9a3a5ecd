"""The "memory reset every episode" control of in-context evaluation is exactly the agent
without memory of earlier episodes: at an in-trial episode start it gets the trial-start
inputs, so on a task whose episodes all start alike its episode returns never change."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

from agents.common.config import EnvConfig, agent_env
from agents.ppo.config import TrainPPOConfig
from agents.ppo.in_context import episode_start_inputs, trial_episode_returns
from agents.ppo.train import RecurrentPPO
from envs.meta.trial import TrialEnv

LENGTH, EPISODES = 4, 3


@struct.dataclass
class GuessParams(environment.EnvParams):
    target: jax.Array = struct.field(default_factory=lambda: jnp.int32(0))
    max_steps_in_episode: int = LENGTH


@struct.dataclass
class GuessState(environment.EnvState):
    time: jax.Array


class Guess(environment.Environment):
    """Deterministic: obs = [steps left / LENGTH]; reward 1 for the action equal to the task's
    target, else 0; LENGTH steps; every episode starts in the same state."""

    @property
    def default_params(self) -> GuessParams:
        return GuessParams()

    def reset_env(self, key, params):
        return self.get_obs(GuessState(time=jnp.int32(0))), GuessState(time=jnp.int32(0))

    def get_obs(self, state, params=None, key=None):
        return jnp.array([(LENGTH - state.time) / LENGTH], jnp.float32)

    def step_env(self, key, state, action, params):
        reward = (action == params.target).astype(jnp.float32)
        state = GuessState(time=state.time + 1)
        done = state.time >= LENGTH
        return self.get_obs(state), state, reward, done, {}

    def is_terminal(self, state, params):
        return state.time >= LENGTH

    def action_space(self, params=None):
        return spaces.Discrete(3)

    def observation_space(self, params=None):
        return spaces.Box(0.0, 1.0, (1,), jnp.float32)


def trial_env() -> TrialEnv:
    def sample_task(key, _):
        return GuessParams(target=jax.random.randint(key, (), 0, 3))

    return TrialEnv(Guess(), sample_task, None, episodes_per_trial=EPISODES,
                    max_steps_in_trial=EPISODES * LENGTH + 1)


def test_in_trial_episode_start_inputs_equal_trial_start_inputs_bit_for_bit():
    env, params = agent_env(EnvConfig(suite="any", id="guess"), trial_env())
    obs, state = env.reset(jax.random.PRNGKey(0), params)
    trial_start = np.asarray(obs)
    seen = 0
    for t in range(EPISODES * LENGTH):
        obs, state, _, terminated, truncated, info = env.step(
            jax.random.PRNGKey(t), state, jnp.int32(t % 3), params)
        done, episode_done = terminated | truncated, info["episode_in_trial_done"]
        ablated, is_first = episode_start_inputs(env, obs[None], done[None], episode_done[None],
                                                 jnp.bool_(True))
        plain, plain_first = episode_start_inputs(env, obs[None], done[None],
                                                  episode_done[None], jnp.bool_(False))
        np.testing.assert_array_equal(plain[0], obs)  # the agent itself is untouched
        if bool(episode_done) and not bool(done):
            seen += 1
            # The leak the control removes: the raw observation holds the last action/reward.
            assert not np.array_equal(np.asarray(obs), trial_start)
            np.testing.assert_array_equal(np.asarray(ablated[0]), trial_start)
            assert bool(is_first[0]) and not bool(plain_first[0])
        else:
            np.testing.assert_array_equal(np.asarray(ablated[0]), np.asarray(obs))
            assert bool(is_first[0]) == bool(done)
    assert seen == EPISODES - 1


def test_episode_reset_control_repeats_its_first_episode_on_a_deterministic_task():
    config = TrainPPOConfig.from_dict({
        "env": {"suite": "any", "id": "guess"},
        "model": {"name": "gru", "d_model": 16},
        "network": {"head_hidden": 16},
        "algo": {"num_envs": 4, "num_steps": 8, "num_minibatches": 1, "total_timesteps": 32},
    })
    ppo = RecurrentPPO(config, trial_env())
    env, params = agent_env(config.env, trial_env())
    returns = {}
    for seed in range(3):  # a few random networks, greedy: every difference is the inputs'
        net = ppo.init(jax.random.PRNGKey(seed)).params
        out = trial_episode_returns(ppo, net, env, params, jax.random.PRNGKey(10 + seed), 64,
                                    deterministic=True)
        returns[seed] = {k: np.asarray(v) for k, v in out.items()}
        control = returns[seed]["agent_episode_reset"]
        assert np.isfinite(control).all() and control.shape == (64, EPISODES)
        for k in range(1, EPISODES):
            np.testing.assert_array_equal(control[:, k], control[:, 0])
    # The agent with memory across episodes does act differently in later episodes (so the
    # equality above is the control's doing, not a network that ignores its inputs).
    assert any(np.any(r["agent"][:, 1:] != r["agent"][:, :1]) for r in returns.values())
