#!/usr/bin/env python
"""The peer side of the PPO sample-efficiency comparison: memorax's PPO on our POPGym env.

memorax is not a dependency of this library; run this in a separate venv that has it and the
packages `envs/` needs (jax, gymnax, chex), with this repository on the path:

    python -m venv /tmp/mxvenv && /tmp/mxvenv/bin/pip install memorax==1.0.1 jax==0.10.2
    PYTHONPATH=. /tmp/mxvenv/bin/python scripts/peer_memorax_ppo.py --memory gru --seeds 3 \
        --out docs/results/ppo_vs_memorax/memorax_gru.json

The network is memorax's own example architecture for its PPO (examples/architectures/
ppo_<memory>.py in its repository): observation Dense(d_model) + ReLU, then 2 x (pre-norm
residual memory block, pre-norm residual FFN x4), separate actor and critic networks, heads
initialised orthogonally (0.01 actor, 1.0 critic), global-norm clip 1.0, Adam eps 1e-5. The
PPO config is the comparison's: 64 envs x 128 steps, 4 epochs x 8 minibatches, gamma 0.99,
GAE 0.95, clip 0.2 with value clipping, ent 0.01, vf 0.5, `--lr`. Our env reaches it through
a 5-tuple adapter (done = terminated | truncated, as memorax's gymnax 0.x API expects), with
observations encoded as our trainer encodes them and no previous action (memorax's example
does not add one).

Writes the training curve (mean return of the episodes that ended in each update, as our
trainer logs it) and the greedy evaluation return at the end, per seed.
"""

import argparse
import json
import time
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from memorax.algorithms import PPO, PPOConfig
from memorax.networks import (
    FFN,
    RNN,
    FeatureExtractor,
    Memoroid,
    Network,
    PreNorm,
    Residual,
    S5Cell,
    Stack,
    heads,
)

import envs
from envs.wrappers import ObservationEncoding

NUM_ENVS, NUM_STEPS = 64, 128


class FiveTupleStep(ObservationEncoding):
    """Our gymnax 1.x env as a gymnax 0.x env: `step` returns `(obs, state, reward, done,
    info)` with `done = terminated | truncated`."""

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = super().step(key, state, action,
                                                                     params)
        return obs, state, reward, terminated | truncated, info


def memory_block(memory: str, d_model: int) -> nn.Module:
    if memory == "gru":
        cell = nn.GRUCell(features=d_model, kernel_init=nn.initializers.xavier_uniform(),
                          bias_init=nn.initializers.zeros_init())
        return Residual(module=PreNorm(module=RNN(cell=cell)))
    if memory == "s5":
        cell = S5Cell(features=d_model, state_size=d_model, discretization="zoh",
                      dt_min=0.001, dt_max=0.1, dtype=jnp.float32, param_dtype=jnp.float32)
        return Residual(module=PreNorm(module=Memoroid(cell=cell)))
    raise ValueError(f"--memory {memory!r} is not one of ['gru', 's5']")


def make_agent(env, env_params, memory: str, d_model: int, lr: float) -> PPO:
    cfg = PPOConfig(name="ppo", num_envs=NUM_ENVS, num_eval_envs=256, num_steps=NUM_STEPS,
                    gamma=0.99, gae_lambda=0.95, num_minibatches=8, update_epochs=4,
                    normalize_advantage=True, clip_coef=0.2, clip_vloss=True, ent_coef=0.01,
                    vf_coef=0.5)
    orth = nn.initializers.orthogonal
    features = FeatureExtractor(
        observation_extractor=nn.Sequential((nn.Dense(d_model, kernel_init=orth(1.414)),
                                             nn.relu)))
    ffn = Residual(module=PreNorm(module=FFN(features=d_model, expansion_factor=4)))
    torso = Stack(blocks=(memory_block(memory, d_model), ffn) * 2)
    actor = Network(feature_extractor=features, torso=torso,
                    head=heads.Categorical(action_dim=env.action_space(env_params).n,
                                           kernel_init=orth(0.01)))
    critic = Network(feature_extractor=features, torso=torso,
                     head=heads.VNetwork(kernel_init=orth(1.0)))
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(lr, eps=1e-5))
    return PPO(cfg=cfg, env=env, env_params=env_params, actor_network=actor,
               critic_network=critic, actor_optimizer=optimizer, critic_optimizer=optimizer)


def update_mean_returns(reward: np.ndarray, done: np.ndarray, updates: int) -> np.ndarray:
    """Mean return of the episodes that ended in each update, `[S, updates]` (NaN: none),
    from time-major `reward, done [S, updates * T, E]`."""
    seeds, steps, envs_ = reward.shape
    running = np.zeros((seeds, envs_))
    total = np.zeros((seeds, updates))
    count = np.zeros((seeds, updates))
    for t in range(steps):
        running += reward[:, t]
        ended = done[:, t].astype(bool)
        total[:, t // NUM_STEPS] += np.where(ended, running, 0.0).sum(axis=1)
        count[:, t // NUM_STEPS] += ended.sum(axis=1)
        running = np.where(ended, 0.0, running)
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / count, np.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--env", default="RepeatPreviousEasy")
    parser.add_argument("--memory", default="gru", choices=["gru", "s5"])
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--steps", type=int, default=500_000, help="env steps per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    base, env_params = envs.make(args.env)
    env = FiveTupleStep(base)
    agent = make_agent(env, env_params, args.memory, args.d_model, args.lr)
    per_update = NUM_ENVS * NUM_STEPS
    updates = args.steps // per_update
    keys, state = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), args.seeds))
    train = jax.jit(jax.vmap(agent.train, in_axes=(0, 0, None)), static_argnums=2)

    start = time.perf_counter()
    keys, state, transitions = train(keys, state, updates * per_update)
    jax.block_until_ready(state)
    wall = time.perf_counter() - start
    # memorax stacks each update's [T, E] steps and reshapes them without moving data, so
    # reshaping back gives the time-major steps of the whole run, [S, U * T, E].
    shape = (args.seeds, updates * NUM_STEPS, NUM_ENVS)
    curve = update_mean_returns(np.asarray(transitions.reward).reshape(shape),
                                np.asarray(transitions.done).reshape(shape), updates)
    evaluate = jax.vmap(agent.evaluate, in_axes=(0, 0, None))
    _, evaluation = evaluate(keys, state, int(env_params.max_steps_in_episode))
    # 256 envs for one episode length: every env plays exactly one episode of a fixed-length
    # task (RepeatPrevious, RepeatFirst, CountRecall, ...), so the mean return is the sum / 256.
    greedy = np.asarray(evaluation.reward).reshape(args.seeds, -1).sum(axis=1) / 256
    tail = curve[:, -max(1, updates // 5):]
    params = sum(x.size for x in jax.tree.leaves(jax.tree.map(lambda p: p[0], state.actor_params)))
    params += sum(x.size for x in jax.tree.leaves(jax.tree.map(lambda p: p[0],
                                                               state.critic_params)))
    record = {
        "peer": "memorax", "version": "1.0.1", "env_id": args.env, "memory": args.memory,
        "d_model": args.d_model, "learning_rate": args.lr, "num_seeds": args.seeds,
        "env_steps_per_seed": updates * per_update, "parameters": int(params),
        "curve": {"env_steps": (per_update * np.arange(1, updates + 1)).tolist(),
                  "return_per_seed": curve.tolist()},
        "final_return_per_seed": np.nanmean(tail, axis=1).tolist(),
        "greedy_return_per_seed": greedy.tolist(), "wall_s_with_compile": wall,
        "jax": jax.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"memorax {args.memory} on {args.env}: final (training) "
          f"{np.round(record['final_return_per_seed'], 3)}, greedy "
          f"{np.round(greedy, 3)}, {wall:.0f} s")


if __name__ == "__main__":
    main()
