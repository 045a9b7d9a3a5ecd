"""In-context learning curves on meta-RL trials (`envs.meta.TrialEnv`).

For a trained recurrent PPO agent, the curve is the mean return of episode 1, 2, ..., K within
a trial, over many trials (fresh task each). Three policies are compared:

- `agent`: the agent as trained, memory reset at trial starts only (it may adapt: later
  episodes should beat the first);
- `agent_episode_reset`: the same parameters, and at every episode start inside a trial the
  agent sees exactly what it sees at a trial start: zero memory and the trial-start
  observation (previous action and reward zero, `is_first = 1`, `episode_start = 1`;
  `episode_start_inputs`). Nothing crosses an episode boundary, so this is the agent without
  memory of earlier episodes of the same task;
- `random`: actions uniform in the action space.

Each trial is played once from its start: `num_trials` environments run in parallel for the
trial's step cap (`TrialParams.max_steps_in_episode`, an upper bound on its length) and record
the return of each episode of their first trial (`info["episode_in_trial"]`,
`["episode_in_trial_done"]`, `["episode_in_trial_return"]` from `TrialEnv`, passed through the
agent wrappers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from agents.common.action_heads import env_action
from agents.common.config import make_env
from agents.ppo.config import TrainPPOConfig
from agents.ppo.train import RecurrentPPO
from envs.meta.splits import SPLIT_NAMES
from envs.wrappers import VecEnv

POLICIES = ("agent", "agent_episode_reset", "random")


def meta_split_envs(
    config: TrainPPOConfig, splits: tuple[str, ...] = SPLIT_NAMES
) -> dict[str, tuple[Any, Any]]:
    """Agent envs `{split: (env, params)}` of the task splits of a run trained on a registered
    meta id `"<Benchmark>-<split>"` (e.g. `MetaGymnax-train`), wrapped as for training."""
    prefix, sep, _ = config.env.id.rpartition("-")
    if not sep or not prefix.startswith("Meta"):
        raise ValueError(f"env.id={config.env.id!r} is not a meta id like 'MetaGymnax-train'")
    return {
        split: make_env(config.env, f"{prefix}-{split}") for split in splits
    }


def episode_start_inputs(
    env: Any, obs: jax.Array, done: jax.Array, episode_done: jax.Array, ablate: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The network's inputs `(obs[N, D], is_first[N])` after a step.

    `done[N]`: the trial ended (the next observation starts a trial); `episode_done[N]`: an
    episode ended. Where `ablate` and an episode ended inside the trial, the observation is
    shown as a trial start (`PreviousActionWrapper.episode_start_observation`, found through
    the wrappers; unchanged if the env has none) and the memory is reset.
    """
    in_trial_start = ablate & episode_done & ~done
    as_first = getattr(env, "episode_start_observation", lambda o: o)
    obs = jnp.where(in_trial_start[:, None], as_first(obs), obs)
    return obs, done | in_trial_start


def trial_episode_returns(
    ppo: RecurrentPPO,
    params: Any,
    env: Any,
    env_params: Any,
    key: jax.Array,
    num_trials: int,
    deterministic: bool = False,
) -> dict[str, jax.Array]:
    """`{policy: returns[num_trials, K]}` (float32) of each episode of one trial per env.

    `ppo` supplies the network and action space (its env must have the same observation and
    action spaces as `env`); `params` are one seed's network parameters; `env` is the agent
    env (wrappers on top of a `TrialEnv`, `LogWrapper` outermost). All policies of `POLICIES`
    play the same trials (same keys: tasks, initial states), in one compiled program.
    `deterministic` acts with the policy's mode instead of sampling. Episodes that did not
    finish within the trial's step cap are NaN (none for `make_meta_env`'s envs).
    """
    vec_env = VecEnv(env)
    space = env.action_space(env_params)
    episodes = int(env_params.episodes_per_trial)
    num_steps = int(env_params.max_steps_in_episode)
    if num_steps > 10**6:
        raise ValueError(
            f"the trial step cap max_steps_in_episode={num_steps} bounds the evaluation loop; "
            "build the TrialEnv with a finite max_steps_in_trial (make_meta_env does)"
        )

    def one_policy(policy: jax.Array, params: Any, env_params: Any, key: jax.Array) -> jax.Array:
        use_random = policy == POLICIES.index("random")
        reset_every_episode = policy == POLICIES.index("agent_episode_reset")

        def step(carry, key):
            env_state, obs, is_first, memory, finished, returns = carry
            key_act, key_env = jax.random.split(key)
            memory, action, _, _ = ppo.act(params, memory, obs, is_first, key_act, deterministic)
            agent = env_action(space, action)
            uniform = jax.vmap(space.sample)(jax.random.split(key_act, num_trials))
            action = jnp.where(use_random, uniform.astype(agent.dtype), agent)
            obs, env_state, _, terminated, truncated, info = vec_env.step(
                jax.random.split(key_env, num_trials), env_state, action, env_params
            )
            done = terminated | truncated
            episode_done = info["episode_in_trial_done"]
            record = episode_done & ~finished
            slot = jax.nn.one_hot(info["episode_in_trial"], episodes, dtype=bool) & record[:, None]
            returns = jnp.where(slot, info["episode_in_trial_return"][:, None], returns)
            obs, is_first = episode_start_inputs(env, obs, done, episode_done,
                                                 reset_every_episode)
            return (env_state, obs, is_first, memory, finished | done, returns), None

        key_reset, key_run = jax.random.split(key)
        obs, env_state = vec_env.reset(jax.random.split(key_reset, num_trials), env_params)
        init = (
            env_state,
            obs,
            jnp.ones((num_trials,), bool),
            ppo.network.initialize_carry((num_trials,)),
            jnp.zeros((num_trials,), bool),
            jnp.full((num_trials, episodes), jnp.nan, jnp.float32),
        )
        (*_, returns), _ = jax.lax.scan(step, init, jax.random.split(key_run, num_steps))
        return returns

    all_policies = jax.jit(jax.vmap(one_policy, in_axes=(0, None, None, None)))
    returns = all_policies(jnp.arange(len(POLICIES)), params, env_params, key)
    return {policy: returns[i] for i, policy in enumerate(POLICIES)}


def in_context_curves(
    ppo: RecurrentPPO,
    params: Any,
    envs: dict[str, tuple[Any, Any]],
    key: jax.Array,
    num_trials: int = 256,
    deterministic: bool = False,
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """`{split: {policy: {"mean": [K], "stderr": [K]}}}` for every `(env, env_params)` in
    `envs` (e.g. the train / test_projections / test_envs splits) and every policy in
    `POLICIES`, over `num_trials` trials (the same trials for every policy of a split)."""
    curves: dict[str, dict[str, dict[str, list[float]]]] = {}
    for split, (env, env_params) in envs.items():
        by_policy = trial_episode_returns(
            ppo, params, env, env_params, key, num_trials, deterministic
        )
        curves[split] = {}
        for policy, returns in by_policy.items():
            returns = np.asarray(returns)
            count = np.sum(np.isfinite(returns), axis=0)
            mean = np.nanmean(returns, axis=0)
            stderr = np.nanstd(returns, axis=0) / np.sqrt(np.maximum(count, 1))
            curves[split][policy] = {"mean": mean.tolist(), "stderr": stderr.tolist()}
    return curves


def format_curves(curves: dict) -> str:
    """A text table: one row per (split, policy), cells `mean±stderr` for episodes 1..K."""
    rows = []
    for split, by_policy in curves.items():
        for policy, stats in by_policy.items():
            cells = " ".join(
                f"{m:9.2f}±{s:<6.2f}" for m, s in zip(stats["mean"], stats["stderr"], strict=True)
            )
            rows.append(f"{split:17s} {policy:20s} {cells}")
    return "\n".join(rows)


def plot_in_context_curves(curves: dict, path: str, title: str = "") -> None:
    """One panel per split: mean episode return (± 1 standard error) vs episode in trial."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.6), squeeze=False)
    for ax, (split, by_policy) in zip(axes[0], curves.items(), strict=True):
        for policy, stats in by_policy.items():
            mean, stderr = np.asarray(stats["mean"]), np.asarray(stats["stderr"])
            episodes = np.arange(1, mean.size + 1)
            ax.errorbar(episodes, mean, yerr=stderr, marker="o", capsize=3, label=policy)
        ax.set_title(split)
        ax.set_xlabel("episode in trial")
        ax.set_xticks(np.arange(1, mean.size + 1))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("mean episode return")
    axes[0, -1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_in_context_report(curves: dict, out: Path, title: str,
                            record: dict | None = None) -> None:
    """Print the curves' table; write `out/in_context.json` (the curves, or `record` with the
    curves under "curves") and `out/in_context.png`."""
    print("mean episode return (± standard error) for episode 1..K of a trial")
    print(format_curves(curves))
    out.mkdir(parents=True, exist_ok=True)
    content = curves if record is None else {**record, "curves": curves}
    (out / "in_context.json").write_text(json.dumps(content, indent=2))
    plot_in_context_curves(curves, str(out / "in_context.png"), title=title)
    print(f"wrote {out / 'in_context.json'} and {out / 'in_context.png'}")
