#!/usr/bin/env python
"""S4WM-style evaluation of sequence world models (S5 / Mamba-style / GRU) at equal size.

For each task and backbone: collect random-policy datasets in JAX, train the world model
offline, then after a real context roll the model H steps with the recorded actions, imagined
(prior latents) and teacher-forced (posterior latents), and report observation error, reward
error and reward-sign balanced accuracy for each horizon; plus training and imagination
throughput versus sequence length. Writes results.json, results.md and plots to --out.

    python scripts/eval_wm.py --quick                     # seconds-scale smoke run
    python scripts/eval_wm.py --out outputs/eval_wm --train-steps 3000
    python scripts/eval_wm.py --backbones s5 gru --memory-lengths 16 64 256
    python scripts/eval_wm.py --backbones --agent-envs MemoryChain RepeatFirstEasy \
        --agent-steps 30000 --agent-memory-length 8          # agent vs PPO only

Tasks: gymnax MemoryChain-bsuite for each --memory-lengths (reward +-1 at the end depends on
the bit shown at the first step; context 2 steps, horizon to the episode end; data from a
behaviour policy taking action 0 with probability 0.9) and POPGym
RepeatFirst (reward depends on the first card; long context, --horizons). With --agent-envs,
the world-model agent and recurrent PPO (same memory, same env steps, same seeds) are trained
and their episode returns compared.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import gymnax
import jax
import numpy as np

from agents.world_models.evaluation import (
    collect_random_dataset,
    param_count,
    prediction_metrics,
    summarize,
    throughput,
    train_offline,
)
from agents.world_models.world_model import LossScales, WorldModel
from envs.wrappers import make_agent_env
from ssm_rl.memory import available_memories, make_memory

BACKBONE_OPTIONS = {"s5": {"num_layers": 2}, "mamba": {"num_layers": 2}, "gru": {}}


@functools.cache
def memory_params(name: str, d_model: int, input_size: int) -> int:
    memory = make_memory(name, d_model=d_model, **BACKBONE_OPTIONS[name])
    carry = memory.initialize_carry((1,))
    shapes = jax.eval_shape(memory.init, jax.random.PRNGKey(0), carry,
                            jax.numpy.zeros((2, 1, input_size)),
                            jax.numpy.zeros((2, 1), bool))
    return param_count(shapes)


def width_for(name: str, target: int, input_size: int) -> int:
    """The d_model (multiple of 8) whose sequence-model parameter count is closest to target."""
    widths = range(8, 513, 8)
    counts = {w: memory_params(name, w, input_size) for w in widths}
    return min(widths, key=lambda w: abs(counts[w] - target))


def make_model(name: str, d_model: int, obs_size: int, num_actions: int, args) -> WorldModel:
    return WorldModel(
        memory=make_memory(name, d_model=d_model, **BACKBONE_OPTIONS[name]),
        obs_shape=(obs_size,), num_actions=num_actions, latent_groups=args.latents,
        latent_classes=args.latents, width=args.width, mlp_layers=1, reward_bins=255,
    )


def tasks(args) -> list[dict]:
    out = []
    for length in args.memory_lengths:
        env, params = gymnax.make("MemoryChain-bsuite")
        params = params.replace(memory_length=length)
        # Behaviour policy: action 0 with probability 0.9, so the reward's sign mostly
        # reflects the bit seen at step 0 (uniform actions make it bit XOR last action).
        out.append({"name": f"MemoryChain-{length}", "env": env, "params": params,
                    "length": length + 1, "context": 2, "horizons": [length - 1],
                    "action_probs": jax.numpy.array([0.9, 0.1])})
    if args.repeat_first:
        env, params = make_agent_env(args.repeat_first, previous_action=False)
        context = args.context
        out.append({"name": args.repeat_first, "env": env, "params": params,
                    "length": context + max(args.horizons), "context": context,
                    "horizons": args.horizons})
    return out


def agent_envs(name: str, memory_length: int):
    """`(env for the world-model agent, env for PPO, params)`; PPO also sees the previous
    action, reward and is-first flag (as in POPGym's baselines)."""
    from envs.wrappers import LogWrapper, ObservationEncoding, PreviousActionWrapper

    if name == "MemoryChain":
        env, params = gymnax.make("MemoryChain-bsuite")
        params = params.replace(memory_length=memory_length)
        encoded = ObservationEncoding(env)
        return LogWrapper(encoded), LogWrapper(PreviousActionWrapper(encoded)), params
    wm_env, params = make_agent_env(name, previous_action=False)
    ppo_env, _ = make_agent_env(name, previous_action=True)
    return wm_env, ppo_env, params


def returns_curve(metrics: dict, steps_per_iteration: int) -> dict:
    """Mean episode return per iteration (NaN where no episode ended), over seeds."""
    count = np.asarray(metrics["episode/count"])
    returns = np.where(count > 0, np.asarray(metrics["episode/return"]), np.nan)
    steps = (np.arange(returns.shape[1]) + 1) * steps_per_iteration
    tail = returns[:, -max(1, returns.shape[1] // 5):]
    return {"env_steps": steps.tolist(), "return_per_seed": returns.tolist(),
            "final_return": float(np.nanmean(tail)),
            "final_return_per_seed": np.nanmean(tail, axis=1).tolist()}


def segment_means(curve: dict, bins: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """`(env steps at each segment's end [bins], mean episode return [seeds, bins])` over
    `bins` equal segments of training (NaN where no episode ended in a segment)."""
    returns = np.asarray(curve["return_per_seed"], float)
    steps = np.asarray(curve["env_steps"])
    edges = np.linspace(0, returns.shape[1], bins + 1).astype(int)
    means = np.full((returns.shape[0], bins), np.nan)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        segment = returns[:, lo:hi]
        seen = np.isfinite(segment).any(axis=1)
        means[seen, i] = np.nanmean(segment[seen], axis=1)
    return steps[np.maximum(edges[1:] - 1, 0)], means


def steps_to_reach(curve: dict, threshold: float, bins: int = 25) -> list[int | None]:
    """Per seed: the env steps at the end of the first of `bins` equal segments of training
    whose mean episode return is >= `threshold` (None if none is)."""
    steps, means = segment_means(curve, bins)
    return [int(steps[np.argmax(row >= threshold)]) if (row >= threshold).any() else None
            for row in means]


def run_in_chunks(trainer, keys: jax.Array, label: str, per_chunk: int = 50) -> dict:
    """Train one seed per key as the training scripts do (`agents.common.training.train_seeds`),
    printing progress; metrics `{name: [seeds, iterations]}`."""
    from agents.common.training import train_seeds

    def show(report) -> None:
        print(f"  {label}: {report.done}/{trainer.num_iterations}, {report.seconds:.1f}s",
              flush=True)

    return train_seeds(trainer, keys, per_chunk, show)[1]


def agent_vs_ppo(args) -> dict:
    """World-model agent vs recurrent PPO, same memory and same env steps per seed."""
    from agents.common.config import EnvConfig, LoggerConfig
    from agents.ppo.config import AlgoConfig, NetworkConfig, TrainPPOConfig
    from agents.ppo.train import RecurrentPPO
    from agents.world_models.agent import DreamerAgent
    from agents.world_models.config import AgentConfig, TrainWMConfig, WorldModelConfig

    out = {}
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.agent_seeds)
    for name in args.agent_envs:
        wm_env, ppo_env, params = agent_envs(name, args.agent_memory_length)
        model = {"name": args.agent_memory, "d_model": args.agent_width}
        if args.agent_memory != "gru":
            model["num_layers"] = 2
        steps = args.agent_steps
        wm_config = TrainWMConfig(
            env=EnvConfig(id=name), model=model,
            world_model=WorldModelConfig(latent_groups=16, latent_classes=16,
                                         width=2 * args.agent_width, mlp_layers=1,
                                         reward_bins=63, learning_rate=1e-3,
                                         reward_scale=args.reward_scale),
            agent=AgentConfig(total_timesteps=steps, num_envs=16, env_steps_per_iteration=4,
                              updates_per_iteration=4, prefill=64, replay_capacity=2048,
                              batch_size=16, batch_length=64, imag_batch=32,
                              imag_context=64,
                              actor_width=2 * args.agent_width, actor_layers=1,
                              actor_lr=3e-4, critic_lr=3e-4),
            logger=LoggerConfig(),
        )
        ppo_config = TrainPPOConfig(
            env=EnvConfig(id=name), model=model,
            network=NetworkConfig(head_hidden=2 * args.agent_width),
            algo=AlgoConfig(total_timesteps=steps, num_envs=16, num_steps=64, update_epochs=4,
                            num_minibatches=4, learning_rate=1e-3, gae_lambda=0.95),
            logger=LoggerConfig(),
        )
        agent = DreamerAgent(wm_config, wm_env, params)
        wm_metrics = run_in_chunks(agent, keys, "world-model agent")
        wm_curve = returns_curve(wm_metrics, wm_config.agent.steps_per_iteration)
        partial_file = args.out / f"agent_{name}_world_model.json"
        partial_file.write_text(json.dumps(wm_curve))  # kept if the PPO half fails
        print("world-model agent", name, wm_curve["final_return"], flush=True)
        ppo = RecurrentPPO(ppo_config, ppo_env, params)
        ppo_metrics = run_in_chunks(ppo, keys, "ppo", per_chunk=10)
        out[name] = {
            "env_steps": steps,
            "world_model_agent": wm_curve,
            "ppo": returns_curve(ppo_metrics, ppo_config.algo.steps_per_update),
        }
        print("agent vs ppo", name, {k: v["final_return"] for k, v in out[name].items()
                                     if isinstance(v, dict)}, flush=True)
    return out


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for task, per_backbone in results["prediction"].items():
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for backbone, res in per_backbone.items():
            for mode, style in (("imagined", "-"), ("teacher_forced", "--")):
                curve = np.asarray(res["per_step"][mode]["obs_mse"])
                axes[0].plot(np.arange(1, curve.size + 1), curve, style,
                             label=f"{backbone} {mode}")
            hs = sorted(res["summary"]["imagined"], key=int)
            acc = [res["summary"]["imagined"][h]["reward_balanced_accuracy"] for h in hs]
            axes[1].plot([int(h) for h in hs], acc, "o-", label=backbone)
        axes[0].set(xlabel="imagination step", ylabel="observation MSE", title=task)
        axes[1].set(xlabel="horizon H", ylabel="reward balanced accuracy (imagined)",
                    ylim=(0.4, 1.02))
        axes[1].axhline(0.5, color="gray", lw=0.5)
        axes[0].legend(fontsize=6)
        axes[1].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(out / f"prediction_{task}.png", dpi=120)
        plt.close(fig)
    for env_name, res in results.get("agent_vs_ppo", {}).items():
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for agent_name in ("world_model_agent", "ppo"):
            steps, means = segment_means(res[agent_name])
            seen = np.isfinite(means).any(axis=0)
            ax.plot(steps[seen], np.nanmean(means[:, seen], axis=0), "o-", markersize=3,
                    label=agent_name)
        ax.set(xlabel="env steps", ylabel="episode return", title=env_name)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"agent_vs_ppo_{env_name}.png", dpi=120)
        plt.close(fig)
    if not results["throughput"]:
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for backbone, rows in results["throughput"].items():
        lengths = sorted(rows, key=int)
        for key, style in (("train_steps_per_s", "-"), ("imagine_steps_per_s", "--")):
            ax.plot([int(t) for t in lengths], [rows[t][key] for t in lengths], style + "o",
                    label=f"{backbone} {key.split('_')[0]}")
    ax.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="steps/s")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=120)
    plt.close(fig)


def markdown(results: dict) -> str:
    lines = ["# World-model evaluation", "", f"settings: `{json.dumps(results['settings'])}`", ""]
    lines += ["## Prediction after a real context (imagined / teacher-forced)", "",
              "| task | backbone | params (seq model / total) | H | obs MSE img | obs MSE tf | "
              "reward acc img | reward acc tf |", "|---|---|---|---|---|---|---|---|"]
    for task, per_backbone in results["prediction"].items():
        for backbone, res in per_backbone.items():
            for h, img in res["summary"]["imagined"].items():
                tf = res["summary"]["teacher_forced"][h]
                lines.append(
                    f"| {task} | {backbone} | {res['memory_params']} / {res['params']} | {h} | "
                    f"{img['obs_mse']:.4f} | {tf['obs_mse']:.4f} | "
                    f"{img['reward_balanced_accuracy']:.3f} | "
                    f"{tf['reward_balanced_accuracy']:.3f} |")
    lines += ["", "reward acc: balanced accuracy of the predicted reward's sign on steps with a "
              "non-zero reward (chance 0.5).", "", "## Throughput (steps/s)", "",
              "| backbone | T | train | imagine |", "|---|---|---|---|"]
    for backbone, rows in results["throughput"].items():
        for t, row in rows.items():
            lines.append(f"| {backbone} | {t} | {row['train_steps_per_s']:.0f} | "
                         f"{row['imagine_steps_per_s']:.0f} |")
    if results.get("agent_vs_ppo"):
        threshold = results["settings"]["agent_threshold"]
        lines += ["", "## Agent return vs recurrent PPO (same memory, same env steps)", "",
                  f"| env | env steps | final return: world-model agent | PPO | env steps to "
                  f"return >= {threshold}: world-model agent | PPO |", "|---|---|---|---|---|---|"]
        for env_name, res in results["agent_vs_ppo"].items():
            wm, ppo = res["world_model_agent"], res["ppo"]
            lines.append(f"| {env_name} | {res['env_steps']} | {wm['final_return']:.3f} | "
                         f"{ppo['final_return']:.3f} | {steps_to_reach(wm, threshold)} | "
                         f"{steps_to_reach(ppo, threshold)} |")
        lines.append("")
        lines.append("final return: mean episode return over the last 20% of training, "
                     "averaged over seeds. Env steps to the threshold, per seed: the end of the "
                     "first of 25 equal training segments whose mean return reaches it (None: "
                     "never).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/eval_wm"))
    parser.add_argument("--backbones", nargs="*", default=["s5", "mamba", "gru"],
                        help="world-model backbones to evaluate (none: agent comparison only)")
    parser.add_argument("--target-params", type=int, default=20_000,
                        help="sequence-model parameters each backbone is sized to")
    parser.add_argument("--memory-lengths", nargs="+", type=int, default=[16, 64])
    parser.add_argument("--repeat-first", default="RepeatFirstMedium",
                        help="POPGym id for the long-horizon task ('' to skip)")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--horizons", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--train-sequences", type=int, default=1024)
    parser.add_argument("--test-sequences", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--latents", type=int, default=16, help="groups = classes")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--reward-scale", type=float, default=10.0,
                        help="reward-loss weight (DreamerV3: 1); the memory-dependent reward is "
                             "one step in a window, so small CPU budgets need the emphasis")
    parser.add_argument("--throughput-lengths", nargs="+", type=int, default=[64, 256, 1024])
    parser.add_argument("--throughput-batch", type=int, default=16)
    parser.add_argument("--agent-envs", nargs="*", default=[],
                        help="envs for the agent-vs-PPO comparison, e.g. RepeatFirstEasy "
                             "MemoryChain (none by default: it trains agents)")
    parser.add_argument("--agent-steps", type=int, default=50_000)
    parser.add_argument("--agent-seeds", type=int, default=2)
    parser.add_argument("--agent-memory", default="gru")
    parser.add_argument("--agent-width", type=int, default=64)
    parser.add_argument("--agent-memory-length", type=int, default=16)
    parser.add_argument("--agent-threshold", type=float, default=0.9,
                        help="report the env steps each agent needs to reach this return")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.memory_lengths, args.repeat_first = [6], "RepeatFirstEasy"
        args.context, args.horizons = 8, [4, 8]
        args.train_sequences, args.test_sequences, args.train_steps = 16, 8, 20
        args.latents, args.width, args.target_params = 4, 32, 3000
        args.throughput_lengths, args.throughput_batch = [8, 16], 4
        args.agent_steps, args.agent_seeds, args.agent_width = 1024, 1, 16
    unknown = [b for b in args.backbones if b not in available_memories()]
    if unknown:
        raise ValueError(f"unknown backbone(s) {unknown}; available: {available_memories()}")
    args.out.mkdir(parents=True, exist_ok=True)
    key = jax.random.PRNGKey(args.seed)
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items()},
               "prediction": {}, "throughput": {}}
    for task in tasks(args) if args.backbones else []:
        env, params = task["env"], task["params"]
        obs_size = int(np.prod(env.observation_space(params).shape))
        num_actions = int(env.action_space(params).n)
        k_train, k_test, key = jax.random.split(key, 3)
        probs = task.get("action_probs")
        train = collect_random_dataset(env, params, k_train, args.train_sequences, task["length"],
                                       probs)
        test = collect_random_dataset(env, params, k_test, args.test_sequences, task["length"],
                                      probs)
        input_size = args.latents * args.latents + num_actions
        results["prediction"][task["name"]] = {}
        for index, backbone in enumerate(args.backbones):
            d_model = width_for(backbone, args.target_params, input_size)
            model = make_model(backbone, d_model, obs_size, num_actions, args)
            k_init, k_fit, k_eval = jax.random.split(jax.random.fold_in(key, index), 3)
            wm_params = model.init(k_init, k_init, model.initial_state((1,)), train.obs[:2, :1],
                                   train.action[:2, :1], train.is_first[:2, :1])
            wm_params, losses = train_offline(
                model, wm_params, train, k_fit, steps=args.train_steps,
                batch_size=args.batch_size, window=task["length"],
                learning_rate=args.learning_rate, scales=LossScales(reward=args.reward_scale))
            horizon = task["length"] - task["context"]
            per_step = prediction_metrics(model, wm_params, test, k_eval, task["context"], horizon)
            horizons = [h for h in task["horizons"] if h <= horizon]
            results["prediction"][task["name"]][backbone] = {
                "d_model": d_model,
                "memory_params": memory_params(backbone, d_model, input_size),
                "params": param_count(wm_params),
                "loss_first": float(losses[:10].mean()),
                "loss_last": float(losses[-10:].mean()),
                "summary": {mode: summarize(m, horizons) for mode, m in per_step.items()},
                "per_step": jax.tree.map(lambda x: x.tolist(), per_step),
            }
            print(task["name"], backbone, results["prediction"][task["name"]][backbone]["summary"],
                  flush=True)
    obs_size, num_actions = 4, 4
    input_size = args.latents * args.latents + num_actions
    for backbone in args.backbones:
        d_model = width_for(backbone, args.target_params, input_size)
        model = make_model(backbone, d_model, obs_size, num_actions, args)
        k = jax.random.PRNGKey(0)
        zeros = jax.numpy.zeros
        wm_params = model.init(k, k, model.initial_state((1,)), zeros((2, 1, obs_size)),
                               zeros((2, 1), jax.numpy.int32), zeros((2, 1), bool))
        results["throughput"][backbone] = throughput(model, wm_params, args.throughput_lengths,
                                                     args.throughput_batch)
        print("throughput", backbone, results["throughput"][backbone], flush=True)
    if args.agent_envs:
        results["agent_vs_ppo"] = agent_vs_ppo(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "results.md").write_text(markdown(results))
    plot(results, args.out)
    print(f"wrote {args.out}/results.json, results.md, *.png")
    return results


if __name__ == "__main__":
    main()
