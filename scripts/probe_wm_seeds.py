#!/usr/bin/env python
"""Seed-by-seed teacher-forced reward memory of one world-model backbone on MemoryChain.

    python scripts/probe_wm_seeds.py --backbone mamba --seeds 0 1 2 3 4
    python scripts/probe_wm_seeds.py --backbone mamba --norm none --seeds 2 3 4

For each seed: the offline world-model training of `scripts/eval_wm.py` (data, sizing to
`--target-params`, 2000 Adam steps) on MemoryChain-`--memory-length` with the backbone's stack
options overridden as given, then the first and last training loss and the reward-sign
accuracy `--memory-length - 1` steps after the cue, teacher-forced and imagined. Writes JSON
(`--out`). A run stuck at chance shows a last loss near 1.41 (the reward term not learnt).

Where the bit is lost: a linear probe (least squares on half the test episodes, sign accuracy
on the other half) of the cue bit from the memory output `h_t` at steps 1, 8, 15 and at the
reward step, and from every layer's recurrent state after the reward step. A model whose states
hold the bit (1.00) while `h` at the reward step does not (0.5) has the memory but does not
read it out where the reward head looks.
"""

import argparse
import json
from pathlib import Path

import jax
import numpy as np

import benchmarks.world_model_study as study
from agents.world_models.world_model import WorldModel


def linear_probe(features: np.ndarray, labels: np.ndarray) -> float:
    """Sign accuracy on the second half of a least-squares fit on the first half."""
    x = np.concatenate([features.reshape(len(labels), -1), np.ones((len(labels), 1))], 1)
    half = len(labels) // 2
    w = np.linalg.lstsq(x[:half], 2.0 * labels[:half] - 1.0, rcond=None)[0]
    return float(((x[half:] @ w > 0) == labels[half:]).mean())


def bit_probes(model, wm_params, test, key) -> dict:
    """Linear-probe accuracy of the cue bit (obs[0, :, 2] > 0) from `h_t` and the carries."""
    bit = np.asarray(test.obs[0, :, 2] > 0)
    reward_step = test.reward.shape[0] - 1
    state, out = model.apply(wm_params, key, model.initial_state(bit.shape), test.obs,
                             test.action, test.is_first, method=WorldModel.observe)
    h = np.asarray(out["h"])
    steps = [1, 8, reward_step - 1, reward_step]
    carries = [np.asarray(leaf) for leaf in jax.tree.leaves(state.memory)]
    return {"probe_h": {str(t): linear_probe(h[t], bit) for t in steps},
            "probe_carries": [linear_probe(c, bit) for c in carries if c.size > bit.size]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--backbone", default="mamba")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--memory-length", type=int, default=16)
    parser.add_argument("--num-layers", type=int, default=None)
    parser.add_argument("--norm", choices=["layer", "none"], default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--reward-scale", type=float, default=None,
                        help="reward-loss weight (default: eval_wm.py's)")
    parser.add_argument("--zero-reward-head", action="store_true",
                        help="DreamerV3's zero-initialised reward output layer (the old default)")
    parser.add_argument("--out", type=Path, default=Path("outputs/probe_wm_seeds.json"))
    args = parser.parse_args()

    options = dict(study.BACKBONE_OPTIONS.get(args.backbone, {}))
    options.update({k: v for k, v in (("num_layers", args.num_layers), ("norm", args.norm))
                    if v is not None})
    study.BACKBONE_OPTIONS[args.backbone] = options
    settings = study.StudySettings(backbones=[args.backbone], memory_lengths=[args.memory_length],
                                   repeat_first="", zero_reward_head=args.zero_reward_head)
    if args.learning_rate is not None:
        settings.learning_rate = args.learning_rate
    if args.reward_scale is not None:
        settings.reward_scale = args.reward_scale
    horizon = str(args.memory_length - 1)
    rows = []
    for seed in args.seeds:
        result = study.prediction_study(settings, jax.random.PRNGKey(seed), bit_probes)
        r = result[f"MemoryChain-{args.memory_length}"][args.backbone]
        rows.append({"seed": seed, "d_model": r["d_model"], "loss_first": r["loss_first"],
                     "loss_last": r["loss_last"],
                     **{f"{mode}_accuracy": r["summary"][mode][horizon]["reward_balanced_accuracy"]
                        for mode in ("teacher_forced", "imagined")},
                     "probe_h": r["probe_h"], "probe_carries": r["probe_carries"]})
    print(f"{args.backbone} {options} lr={settings.learning_rate} "
          f"reward_scale={settings.reward_scale} zero_reward_head={args.zero_reward_head} "
          f"MemoryChain-{args.memory_length}")
    for row in rows:
        print(f"  seed {row['seed']}: loss {row['loss_first']:.2f} -> {row['loss_last']:.3f}, "
              f"teacher-forced {row['teacher_forced_accuracy']:.2f}, "
              f"imagined {row['imagined_accuracy']:.2f}; bit probe h_t "
              + " ".join(f"t{t}={a:.2f}" for t, a in row["probe_h"].items())
              + ", carries " + " ".join(f"{a:.2f}" for a in row["probe_carries"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"backbone": args.backbone, "options": options,
                                    "zero_reward_head": args.zero_reward_head,
                                    "learning_rate": settings.learning_rate,
                                    "reward_scale": settings.reward_scale, "rows": rows},
                                   indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
