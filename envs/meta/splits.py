"""Named train / held-out task splits and the meta-env factory `make_meta_env`.

Each meta benchmark has three splits (`BENCHMARKS[benchmark].splits[split]`):

- `train`: the training distribution, base envs `TRAIN` x projection ids [0, 2^30) (a fresh
  projection almost every trial);
- `test_projections`: the same base envs x ids [2^30, 2^30 + 2^16), projections never drawn in
  training (unseen projections of seen envs);
- `test_envs`: base envs absent from training (OOD) x the held-out ids.

All splits of a benchmark share the observation and action widths, so one agent runs on each.
The catalog of a split's env is the split's base envs only, so training never pays for the
held-out envs' physics (`ProjectedEnv` steps every catalog env under vmap).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from envs.meta.projection import ProjectedEnv
from envs.meta.tasks import make_base_env, sample_task, task_distribution
from envs.meta.trial import TrialEnv, TrialParams

HELD_OUT_IDS = (2**30, 2**30 + 2**16)
SPLIT_NAMES = ("train", "test_projections", "test_envs")


@dataclass(frozen=True)
class Split:
    base_envs: tuple[str, ...]
    projection_ids: tuple[int, int]  # [low, high)


@dataclass(frozen=True)
class MetaBenchmark:
    """A family of meta-RL task splits sharing one observation and action width (a registry
    *suite*, `envs.registry.suite`, is something else: a named list of env ids)."""

    splits: dict[str, Split]
    obs_width: int  # D_o
    action_width: int  # D_a
    episode_length: int | None  # base episode length override (None: each env's own)


def _benchmark(train: tuple[str, ...], held_out: tuple[str, ...], **widths) -> MetaBenchmark:
    splits = (Split(train, (0, 2**30)), Split(train, HELD_OUT_IDS), Split(held_out, HELD_OUT_IDS))
    return MetaBenchmark(splits=dict(zip(SPLIT_NAMES, splits, strict=True)), **widths)


BENCHMARKS: dict[str, MetaBenchmark] = {
    # CPU-friendly: classic control, 200-step episodes.
    "meta_gymnax": _benchmark(
        ("Pendulum-v1", "CartPole-v1", "MountainCarContinuous-v0"),
        ("Acrobot-v1",),
        obs_width=8,
        action_width=3,
        episode_length=200,
    ),
    "meta_brax": _benchmark(
        ("brax/inverted_pendulum", "brax/inverted_double_pendulum", "brax/reacher", "brax/hopper"),
        ("brax/halfcheetah", "brax/walker2d", "brax/ant"),
        obs_width=32,
        action_width=8,
        episode_length=1000,
    ),
}


def make_meta_env(
    benchmark: str,
    split: str = "train",
    *,
    base_envs: tuple[str, ...] | None = None,
    episodes_per_trial: int = 3,
    episode_length: int | None = None,
    obs_width: int | None = None,
    action_width: int | None = None,
    num_projections: int | None = None,
    backend: str = "spring",
    seed: int = 0,
) -> tuple[TrialEnv, TrialParams]:
    """`(TrialEnv, TrialParams)` of `BENCHMARKS[benchmark].splits[split]`.

    Keyword arguments override the benchmark's defaults: `base_envs` replaces the split's base envs
    (keeping its projection ids), `episode_length` the base episode length, widths the common
    observation/action widths, `num_projections` keeps only the first n ids of the split's
    range (a finite task pool; held-out splits stay disjoint from training), `backend` the brax
    physics backend, `seed` the projection seed.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown meta benchmark {benchmark!r}; known: {sorted(BENCHMARKS)}")
    spec = BENCHMARKS[benchmark]
    if split not in spec.splits:
        raise ValueError(f"unknown split {split!r} of {benchmark!r}; known: {sorted(spec.splits)}")
    names = spec.splits[split].base_envs if base_envs is None else tuple(base_envs)
    length = spec.episode_length if episode_length is None else episode_length
    catalog = [
        (name, *make_base_env(name, episode_length=length, backend=backend)) for name in names
    ]
    projected = ProjectedEnv(
        catalog,
        obs_width=spec.obs_width if obs_width is None else obs_width,
        action_width=spec.action_width if action_width is None else action_width,
    )
    low, high = spec.splits[split].projection_ids
    if num_projections is not None:
        if not isinstance(num_projections, int) or not 1 <= num_projections <= high - low:
            raise ValueError(
                f"num_projections must be an int in [1, {high - low}], got {num_projections!r}"
            )
        high = low + num_projections
    distribution = task_distribution(projected, (low, high), seed=seed)
    longest = max(int(params.max_steps_in_episode) for _, _, params in catalog)
    env = TrialEnv(
        projected,
        partial(sample_task, projected),
        distribution,
        episodes_per_trial,
        max_steps_in_trial=episodes_per_trial * longest + 1,  # never binds before episode K
    )
    return env, env.default_params
