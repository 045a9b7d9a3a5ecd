"""S4WM-style evaluation of sequence world models (S5 / Mamba-style / GRU / Transformer) at
equal size, and the world-model agent against recurrent PPO; `scripts/eval_wm.py` is its
command line.

For each task and backbone (`prediction_study`): collect behaviour-policy datasets in JAX, train
the world model offline, then after a real context roll the model H steps with the recorded
actions, imagined (prior latents) and teacher-forced (posterior latents), and report
observation error, reward error and reward-sign balanced accuracy for each horizon
(`agents.world_models.evaluation`). `throughput_study`: training and imagination steps/s
against the sequence length. `agent_vs_ppo`: both agents trained with the same memory, env
steps and seeds; their return curves (`benchmarks.curves`).

Tasks: gymnax MemoryChain-bsuite for each memory length (reward +-1 at the end depends on the
bit shown at the first step; context 2 steps, horizon to the episode end; data from a behaviour
policy taking action 0 with probability 0.9) and POPGym RepeatFirst (reward depends on the first
card; long context, several horizons).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnax
import jax
import numpy as np

from agents.common.dreamer_math import TwoHot
from agents.world_models.evaluation import (
    collect_random_dataset,
    prediction_metrics,
    summarize,
    throughput,
    train_offline,
)
from agents.world_models.world_model import LossScales, WorldModel
from benchmarks.curves import returns_curve, segment_means, steps_to_reach
from envs.wrappers import make_agent_env
from ssm_rl.memory import available_memories, make_memory
from ssm_rl.params import closest_width, count_parameters, memory_parameter_count

BACKBONE_OPTIONS = {"s5": {"num_layers": 2}, "mamba": {"num_layers": 2}, "gru": {},
                    "transformer": {"num_layers": 2}}


def _field(default: Any, help: str = "") -> Any:
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class StudySettings:
    """Everything the study reads (the command line's options, one source for their defaults)."""

    out: Path = _field(Path("outputs/eval_wm"))
    backbones: list = _field(["s5", "mamba", "gru", "transformer"],
                             "world-model backbones to evaluate (none: agent comparison only)")
    target_params: int = _field(20_000, "sequence-model parameters each backbone is sized to")
    memory_lengths: list = _field([16, 64])
    repeat_first: str = _field("RepeatFirstMedium",
                               "POPGym id for the long-horizon task ('' to skip)")
    context: int = _field(64)
    horizons: list = _field([16, 64, 256])
    train_sequences: int = _field(1024)
    test_sequences: int = _field(128)
    train_steps: int = _field(2000)
    batch_size: int = _field(16)
    latents: int = _field(16, "groups = classes")
    width: int = _field(128)
    learning_rate: float = _field(3e-3)
    reward_unit: str = _field("auto", "unit of the reward head's two-hot targets: 'auto' (mean "
                                      "|r| of the training data's non-zero rewards) or a "
                                      "number (1: DreamerV3)")
    zero_reward_head: bool = _field(False, "start the reward head's output layer at zero "
                                           "(DreamerV3's init; the ablation of our default)")
    reward_scale: float = _field(1.0, "reward-loss weight (DreamerV3's 1; 10 was our old "
                                      "default, ablated in docs/results/wm_reward_head_init)")
    throughput_lengths: list = _field([64, 256, 1024])
    throughput_batch: int = _field(16)
    agent_envs: list = _field([], "envs for the agent-vs-PPO comparison, e.g. RepeatFirstEasy "
                                  "MemoryChain (none by default: it trains agents)")
    agent_steps: int = _field(50_000)
    agent_seeds: int = _field(2)
    agent_memory: str = _field("gru")
    agent_width: int = _field(64)
    agent_memory_length: int = _field(16)
    agent_threshold: float = _field(0.9, "report the env steps each agent needs to reach this "
                                         "return")
    seed: int = _field(0)
    quick: bool = _field(False, "tiny sizes: a smoke run")

    def __post_init__(self) -> None:
        if self.quick:
            self.memory_lengths, self.repeat_first = [6], "RepeatFirstEasy"
            self.context, self.horizons = 8, [4, 8]
            self.train_sequences, self.test_sequences, self.train_steps = 16, 8, 20
            self.latents, self.width, self.target_params = 4, 32, 3000
            self.throughput_lengths, self.throughput_batch = [8, 16], 4
            self.agent_steps, self.agent_seeds, self.agent_width = 1024, 1, 16
        if self.reward_unit != "auto":
            try:
                unit = float(self.reward_unit)
            except ValueError:
                unit = 0.0
            if not unit > 0:
                raise ValueError(f"reward_unit={self.reward_unit!r} must be 'auto' or a number > 0")
        unknown = [b for b in self.backbones if b not in available_memories()]
        if unknown:
            raise ValueError(f"unknown backbone(s) {unknown}; available: {available_memories()}")


@functools.cache
def memory_size(name: str, d_model: int, input_size: int) -> int:
    """Parameters of backbone `name` at width `d_model` fed `input_size` features."""
    memory = make_memory(name, d_model=d_model, **BACKBONE_OPTIONS[name])
    return memory_parameter_count(memory, input_size)


def width_for(name: str, target: int, input_size: int) -> int:
    """The d_model (multiple of 8, at most 512) whose backbone size is closest to target."""
    return closest_width(lambda w: memory_size(name, w, input_size), target, 8, 512)


def make_model(name: str, d_model: int, obs_size: int, num_actions: int,
               settings: StudySettings) -> WorldModel:
    return WorldModel(
        memory=make_memory(name, d_model=d_model, **BACKBONE_OPTIONS[name]),
        obs_shape=(obs_size,), num_actions=num_actions, latent_groups=settings.latents,
        latent_classes=settings.latents, width=settings.width, mlp_layers=1, reward_bins=255,
        zero_reward_head=settings.zero_reward_head,
    )


def reward_unit(settings: StudySettings, rewards: jax.Array) -> float:
    """The two-hot unit for a task: the setting, or the mean |r| of the non-zero `rewards`."""
    if settings.reward_unit != "auto":
        return float(settings.reward_unit)
    magnitude = np.abs(np.asarray(rewards))
    return float(magnitude[magnitude > 0].mean()) if (magnitude > 0).any() else 1.0


def tasks(settings: StudySettings) -> list[dict]:
    """The prediction tasks: env, params, sequence length, context and horizons."""
    out = []
    for length in settings.memory_lengths:
        env, params = gymnax.make("MemoryChain-bsuite")
        params = params.replace(memory_length=length)
        # Behaviour policy: action 0 with probability 0.9, so the reward's sign mostly
        # reflects the bit seen at step 0 (uniform actions make it bit XOR last action).
        out.append({"name": f"MemoryChain-{length}", "env": env, "params": params,
                    "length": length + 1, "context": 2, "horizons": [length - 1],
                    "action_probs": jax.numpy.array([0.9, 0.1])})
    if settings.repeat_first:
        env, params = make_agent_env(settings.repeat_first, previous_action=False)
        context = settings.context
        out.append({"name": settings.repeat_first, "env": env, "params": params,
                    "length": context + max(settings.horizons), "context": context,
                    "horizons": settings.horizons})
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


def run_in_chunks(trainer, keys: jax.Array, label: str, per_chunk: int = 50) -> dict:
    """Train one seed per key as the training scripts do (`agents.common.training.train_seeds`),
    printing progress; metrics `{name: [seeds, iterations]}`."""
    from agents.common.training import train_seeds

    def show(report) -> None:
        print(f"  {label}: {report.done}/{trainer.num_iterations}, {report.seconds:.1f}s",
              flush=True)

    return train_seeds(trainer, keys, per_chunk, show)[1]


def agent_vs_ppo(settings: StudySettings) -> dict:
    """World-model agent vs recurrent PPO, same memory and same env steps per seed."""
    from agents.common.config import EnvConfig, LoggerConfig
    from agents.ppo.config import AlgoConfig, NetworkConfig, TrainPPOConfig
    from agents.ppo.train import RecurrentPPO
    from agents.world_models.agent import DreamerAgent
    from agents.world_models.config import AgentConfig, TrainWMConfig, WorldModelConfig

    out = {}
    keys = jax.random.split(jax.random.PRNGKey(settings.seed), settings.agent_seeds)
    for name in settings.agent_envs:
        wm_env, ppo_env, params = agent_envs(name, settings.agent_memory_length)
        model = {"name": settings.agent_memory, "d_model": settings.agent_width}
        if settings.agent_memory != "gru":
            model["num_layers"] = 2
        steps = settings.agent_steps
        wm_config = TrainWMConfig(
            env=EnvConfig(id=name), model=model,
            world_model=WorldModelConfig(latent_groups=16, latent_classes=16,
                                         width=2 * settings.agent_width, mlp_layers=1,
                                         reward_bins=63, learning_rate=1e-3,
                                         reward_scale=settings.reward_scale),
            agent=AgentConfig(total_timesteps=steps, num_envs=16, env_steps_per_iteration=4,
                              updates_per_iteration=4, prefill=64, replay_capacity=2048,
                              batch_size=16, batch_length=64, imag_batch=32,
                              imag_context=64,
                              actor_width=2 * settings.agent_width, actor_layers=1,
                              actor_lr=3e-4, critic_lr=3e-4),
            logger=LoggerConfig(),
        )
        ppo_config = TrainPPOConfig(
            env=EnvConfig(id=name), model=model,
            network=NetworkConfig(head_hidden=2 * settings.agent_width),
            algo=AlgoConfig(total_timesteps=steps, num_envs=16, num_steps=64, update_epochs=4,
                            num_minibatches=4, learning_rate=1e-3, gae_lambda=0.95),
            logger=LoggerConfig(),
        )
        agent = DreamerAgent(wm_config, wm_env, params)
        wm_metrics = run_in_chunks(agent, keys, "world-model agent")
        wm_curve = returns_curve(wm_metrics, wm_config.agent.steps_per_iteration)
        partial_file = settings.out / f"agent_{name}_world_model.json"
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




def prediction_study(settings: StudySettings, key: jax.Array,
                     inspect: Callable[..., dict] | None = None) -> dict:
    """Per task and backbone: offline training, then prediction quality after the context.

    `inspect(model, wm_params, test_data, key)`, if given, runs on each trained model and its
    dict joins that backbone's results (the diagnostics of `scripts/probe_wm_seeds.py`).
    """
    results: dict = {}
    for task in tasks(settings) if settings.backbones else []:
        env, params = task["env"], task["params"]
        obs_size = int(np.prod(env.observation_space(params).shape))
        num_actions = int(env.action_space(params).n)
        k_train, k_test, key = jax.random.split(key, 3)
        probs = task.get("action_probs")
        train = collect_random_dataset(env, params, k_train, settings.train_sequences,
                                       task["length"], probs)
        test = collect_random_dataset(env, params, k_test, settings.test_sequences,
                                      task["length"], probs)
        input_size = settings.latents * settings.latents + num_actions
        twohot = TwoHot.create(255, unit=reward_unit(settings, train.reward))
        results[task["name"]] = {}
        for index, backbone in enumerate(settings.backbones):
            d_model = width_for(backbone, settings.target_params, input_size)
            model = make_model(backbone, d_model, obs_size, num_actions, settings)
            k_init, k_fit, k_eval = jax.random.split(jax.random.fold_in(key, index), 3)
            wm_params = model.init(k_init, k_init, model.initial_state((1,)), train.obs[:2, :1],
                                   train.action[:2, :1], train.is_first[:2, :1])
            wm_params, losses = train_offline(
                model, wm_params, train, k_fit, steps=settings.train_steps,
                batch_size=settings.batch_size, window=task["length"],
                learning_rate=settings.learning_rate, twohot=twohot,
                scales=LossScales(reward=settings.reward_scale))
            horizon = task["length"] - task["context"]
            per_step = prediction_metrics(model, wm_params, test, k_eval, task["context"], horizon,
                                          twohot)
            horizons = [h for h in task["horizons"] if h <= horizon]
            results[task["name"]][backbone] = {
                "d_model": d_model,
                "reward_unit": twohot.unit,
                "memory_params": memory_size(backbone, d_model, input_size),
                "params": count_parameters(wm_params),
                "loss_first": float(losses[:10].mean()),
                "loss_last": float(losses[-10:].mean()),
                "summary": {mode: summarize(m, horizons) for mode, m in per_step.items()},
                "per_step": jax.tree.map(lambda x: x.tolist(), per_step),
            }
            if inspect is not None:
                results[task["name"]][backbone].update(inspect(model, wm_params, test, k_eval))
            print(task["name"], backbone, results[task["name"]][backbone]["summary"], flush=True)
    return results


def small_reward_probe(unit: float | None, steps: int = 1500, backbone: str = "gru",
                       seed: int = 0) -> dict:
    """Teacher-forced and imagined reward-sign accuracy on RepeatFirstEasy (+-1/51 per step)
    of a small world model trained with two-hot rewards in `unit`s (None: the task's reward
    magnitude, 1/51): 1024 random-action sequences of 24 steps, 8 real steps of context, the
    next 16 predicted. Returns `{"unit", "teacher_forced", "imagined"}`."""
    env, params = make_agent_env("RepeatFirstEasy", previous_action=False)
    length, context = 24, 8
    key = jax.random.PRNGKey(seed)
    k_train, k_test, k_init, k_fit, k_eval = jax.random.split(key, 5)
    train = collect_random_dataset(env, params, k_train, 1024, length)
    test = collect_random_dataset(env, params, k_test, 256, length)
    unit = float(np.abs(np.asarray(train.reward)).max()) if unit is None else unit
    options = {"gru": {}}.get(backbone, {"num_layers": 2})
    d_model = 24 if backbone == "mamba" else 32
    model = WorldModel(memory=make_memory(backbone, d_model=d_model, **options),
                       obs_shape=(4,), num_actions=4, latent_groups=8, latent_classes=8,
                       width=64, mlp_layers=1)
    twohot = TwoHot.create(255, unit=unit)
    wm_params = model.init(k_init, k_init, model.initial_state((1,)), train.obs[:2, :1],
                           train.action[:2, :1], train.is_first[:2, :1])
    wm_params, _ = train_offline(model, wm_params, train, k_fit, steps=steps, batch_size=32,
                                 window=length, learning_rate=3e-3, twohot=twohot,
                                 scales=LossScales(reward=10.0))
    metrics = prediction_metrics(model, wm_params, test, k_eval, context, length - context,
                                 twohot)
    return {"unit": unit, **{mode: summarize(m, [16])["16"] for mode, m in metrics.items()}}


def throughput_study(settings: StudySettings) -> dict:
    """Per backbone: training and imagination steps/s at each throughput length."""
    obs_size, num_actions = 4, 4
    input_size = settings.latents * settings.latents + num_actions
    results = {}
    for backbone in settings.backbones:
        d_model = width_for(backbone, settings.target_params, input_size)
        model = make_model(backbone, d_model, obs_size, num_actions, settings)
        k = jax.random.PRNGKey(0)
        zeros = jax.numpy.zeros
        wm_params = model.init(k, k, model.initial_state((1,)), zeros((2, 1, obs_size)),
                               zeros((2, 1), jax.numpy.int32), zeros((2, 1), bool))
        results[backbone] = throughput(model, wm_params, settings.throughput_lengths,
                                       settings.throughput_batch)
        print("throughput", backbone, results[backbone], flush=True)
    return results


def run_study(settings: StudySettings) -> dict:
    """All parts of the study; writes results.json, results.md and plots to `settings.out`."""
    settings.out.mkdir(parents=True, exist_ok=True)
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in dataclasses.asdict(settings).items()},
               "prediction": prediction_study(settings, jax.random.PRNGKey(settings.seed)),
               "throughput": throughput_study(settings)}
    if settings.agent_envs:
        results["agent_vs_ppo"] = agent_vs_ppo(settings)
    (settings.out / "results.json").write_text(json.dumps(results, indent=1))
    (settings.out / "results.md").write_text(markdown(results))
    plot(results, settings.out)
    print(f"wrote {settings.out}/results.json, results.md, *.png")
    return results
