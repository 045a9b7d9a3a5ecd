"""Meta-RL: randomly projected control tasks, multi-episode trials, held-out task splits.

`projection.ProjectedEnv` (task = base env + random observation/action matrices),
`trial.TrialEnv` (K episodes per task, memory kept across them), `tasks` (base envs, task
ids and distributions), `splits` (train / held-out splits, `make_meta_env`),
`envs.brax_adapter.BraxToGymnax` (brax envs behind the gymnax API) is re-exported.

Importing this package registers ids `"<Benchmark>-<split>"` in `envs.registry` under suite
"meta": `MetaGymnax-train`, `MetaGymnax-test_projections`, `MetaGymnax-test_envs` and the same
for `MetaBrax` (brax backend "spring" by default); their factories accept `make_meta_env`'s
keyword arguments, e.g. `make("MetaGymnax-train", episodes_per_trial=4)`. The Bernoulli bandit
tasks `MetaBandit-<split>` (`bandit`: train, test_arms, test_horizon, test_prior, two_arms)
accept `make_bandit`'s (num_arms, horizon, prior_a, prior_b).
"""

from functools import partial

from envs.brax_adapter import BraxToGymnax
from envs.meta.bandit import BANDIT_SPLITS, BanditParams, BernoulliBandit, make_bandit
from envs.meta.projection import ProjectedEnv, ProjectedParams, sample_projection
from envs.meta.splits import BENCHMARKS, MetaBenchmark, Split, make_meta_env
from envs.meta.tasks import TaskDistribution, make_task, sample_task, task_distribution
from envs.meta.trial import TrialEnv, TrialParams
from envs.registry import register, registered_ids

BENCHMARK_IDS = {"meta_gymnax": "MetaGymnax", "meta_brax": "MetaBrax"}  # id prefixes


def _register() -> None:
    for benchmark, prefix in BENCHMARK_IDS.items():
        for split in BENCHMARKS[benchmark].splits:
            env_id = f"{prefix}-{split}"
            if env_id not in registered_ids():
                register(env_id, partial(make_meta_env, benchmark, split), suite="meta")
    for split in BANDIT_SPLITS:
        if f"MetaBandit-{split}" not in registered_ids():
            register(f"MetaBandit-{split}", partial(make_bandit, split), suite="meta")


_register()

__all__ = [
    "BANDIT_SPLITS",
    "BENCHMARKS",
    "BENCHMARK_IDS",
    "BanditParams",
    "BernoulliBandit",
    "BraxToGymnax",
    "MetaBenchmark",
    "ProjectedEnv",
    "ProjectedParams",
    "Split",
    "TaskDistribution",
    "TrialEnv",
    "TrialParams",
    "make_bandit",
    "make_meta_env",
    "make_task",
    "sample_projection",
    "sample_task",
    "task_distribution",
]
