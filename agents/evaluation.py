"""Playing a loaded policy (`agents.policy.load_policy`) in its env: episode returns, one
recorded episode, and a rendering of it.

    policy = load_policy(run_dir)
    returns, finished = episode_returns(policy, key, num_episodes=100, greedy=True)
    episode = record_episode(policy, key)                 # one env, its first episode
    path = render_episode(policy, episode, "outputs/run/episode")   # .gif / .html / .txt

Acting goes through `agents.common.acting.act_and_step`, as in training, with the policy's own
carry and reset convention (`reset` = the previous step's done). Renderings: gymnax's
visualiser (GIF) for the envs it draws (classic control, Catch, MinAtar, mazes, PointRobot),
brax's HTML viewer for brax envs, and a text trace (step, observation, action, reward, done)
for every other env, POPGym's included.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from agents.common.acting import act_and_step
from agents.policy import LoadedPolicy
from envs.wrappers import GymnaxWrapper, LogEnvState, VecEnv

# The env names gymnax.visualize.Visualizer draws; classic control needs pygame (extra
# "render"), without it these envs get the text trace.
CLASSIC_CONTROL = ("Acrobot-v1", "CartPole-v1", "Pendulum-v1", "MountainCar-v0",
                   "MountainCarContinuous-v0")
GYMNAX_DRAWN = (*CLASSIC_CONTROL, "Catch-bsuite", "Asterix-MinAtar",
                "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
                "SpaceInvaders-MinAtar", "Pong-misc", "PointRobot-misc", "MetaMaze-misc",
                "FourRooms-misc")


@struct.dataclass
class Episode:
    """One env's steps `[T, ...]` (time-major, first episode only up to `length`)."""

    obs: jax.Array  # [T, D] what the policy saw
    action: jax.Array  # [T, ...] what the env received
    reward: jax.Array  # [T]
    done: jax.Array  # [T] bool
    env_state: Any  # [T, ...] the base env's state before each step
    length: jax.Array  # int32 [], steps until the first episode ended (T if it did not)


def _play(policy: LoadedPolicy, key: jax.Array, batch: int, greedy: bool, max_steps: int):
    """Scan `max_steps` steps of `batch` envs; per step `(obs, EnvStep, state before)`."""
    env, params = VecEnv(policy.env), policy.env_params
    act = policy.greedy if greedy else policy.act
    key, k_reset = jax.random.split(key)
    obs, env_state = env.reset(jax.random.split(k_reset, batch), params)

    def step(c, key):
        env_state, obs, is_first, carry = c
        k_act, k_env = jax.random.split(key)

        def pick(obs, is_first, k):
            carry_next, action = act(carry, obs, is_first, k)
            return action, carry_next

        carry, out = act_and_step(env, params, env_state, obs, is_first, k_act, k_env, pick)
        return (out.env_state, out.next_obs, out.done, carry), (obs, out, env_state)

    init = (env_state, obs, jnp.ones((batch,), bool), policy.initial_carry(batch))
    return jax.lax.scan(step, init, jax.random.split(key, max_steps))[1]


def _max_steps(policy: LoadedPolicy, max_steps: int | None) -> int:
    return int(policy.env_params.max_steps_in_episode) if max_steps is None else max_steps


def episode_returns(policy: LoadedPolicy, key: jax.Array, num_episodes: int, *,
                    greedy: bool, max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`(returns[num_episodes], finished[num_episodes] bool)` of the first episode of each of
    `num_episodes` envs played side by side for `max_steps` steps (default: the env's
    `max_steps_in_episode`)."""
    _, out, _ = _play(policy, key, num_episodes, greedy, _max_steps(policy, max_steps))
    ended_before = jnp.cumsum(out.done, axis=0) - out.done  # [T, B] episodes ended earlier
    first = ended_before == 0
    returns = jnp.sum(jnp.where(first, out.reward, 0.0), axis=0)
    return np.asarray(returns), np.asarray(out.done.any(axis=0))


def _base_state(state: Any) -> Any:
    return _base_state(state.env_state) if isinstance(state, LogEnvState) else state


def record_episode(policy: LoadedPolicy, key: jax.Array, *, greedy: bool = True,
                   max_steps: int | None = None) -> Episode:
    """The first episode of one env, with the base env's state before every step."""
    obs, out, before = _play(policy, key, 1, greedy, _max_steps(policy, max_steps))
    done = out.done[:, 0]
    length = jnp.where(done.any(), jnp.argmax(done) + 1, done.shape[0]).astype(jnp.int32)
    squeeze = lambda x: x[:, 0]  # noqa: E731
    return Episode(obs[:, 0], jax.tree.map(squeeze, out.action), out.reward[:, 0], done,
                   jax.tree.map(squeeze, _base_state(before)), length)


def base_env(env: Any) -> Any:
    """The env under every `GymnaxWrapper`."""
    while isinstance(env, GymnaxWrapper):
        env = env._env
    return env


def render_episode(policy: LoadedPolicy, episode: Episode, stem: str | Path) -> Path:
    """Write `episode` next to `stem`: `<stem>.gif` (gymnax's visualiser), `<stem>.html`
    (brax) or `<stem>.txt` (a text trace); returns the path written."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    n = int(episode.length)

    def states() -> list[Any]:  # the base env's state at each step, for the drawing renderers
        return [jax.tree.map(lambda x, t=t: x[t], episode.env_state) for t in range(n)]

    env = base_env(policy.env)
    name = getattr(env, "name", "")
    if name in GYMNAX_DRAWN and (name not in CLASSIC_CONTROL or importlib.util.find_spec("pygame")):
        import matplotlib

        matplotlib.use("Agg")
        from gymnax.visualize import Visualizer

        path = stem.with_suffix(".gif")
        rewards = np.cumsum(np.asarray(episode.reward[:n]))
        Visualizer(env, policy.env_params, states(), rewards).animate(str(path))
        return path
    if hasattr(env, "_brax"):  # envs.brax_adapter.BraxToGymnax
        from brax.io import html

        path = stem.with_suffix(".html")
        pipeline = [s.brax_state.pipeline_state for s in states()]
        path.write_text(html.render(env._brax.sys.tree_replace({"opt.timestep": env._brax.dt}),
                                    pipeline))
        return path
    path = stem.with_suffix(".txt")
    obs, reward, done = (np.asarray(x[:n]) for x in (episode.obs, episode.reward, episode.done))
    actions = np.asarray(jax.tree.leaves(episode.action)[0][:n])
    lines = [f"{name or type(env).__name__}: {n} steps, return {float(reward.sum()):.4f}",
             "step  action  reward  done  observation"]
    for t in range(n):
        row = np.array2string(obs[t], precision=2, max_line_width=10_000)
        lines.append(f"{t:4d}  {np.array2string(actions[t], precision=2):>6}  "
                     f"{float(reward[t]):+.3f}  {bool(done[t])!s:5}  {row}")
    path.write_text("\n".join(lines) + "\n")
    return path
