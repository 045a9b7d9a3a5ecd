"""Base envs for meta-RL tasks, task identities and task distributions.

A task is `(base env, projection id)`. Its matrices are a pure function of
`(seed, base env name, projection id)`:

    key = fold_in(fold_in(PRNGKey(seed), crc32(name) mod 2^31), projection_id)
    (M_o, M_a) = sample_projection(key, d_o, d_a, D_o, D_a)

so a task is the same in every catalog that holds its base env, and disjoint id ranges give
disjoint task sets (how held-out projections are defined, see `splits.py`).

Base env names: gymnax ids (`GYMNAX_BASE_ENVS`, e.g. "Pendulum-v1") and "brax/<name>"
(`BRAX_BASE_ENVS`, e.g. "brax/hopper").
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from envs import registry
from envs.meta.projection import ProjectedEnv, ProjectedParams, sample_projection

GYMNAX_BASE_ENVS = ("Pendulum-v1", "MountainCarContinuous-v0", "CartPole-v1", "Acrobot-v1")
BRAX_BASE_ENVS = tuple(
    f"brax/{name}"
    for name in (
        "inverted_pendulum",
        "inverted_double_pendulum",
        "reacher",
        "hopper",
        "walker2d",
        "halfcheetah",
        "ant",
    )
)


def make_base_env(
    name: str, *, episode_length: int | None = None, backend: str = "spring"
) -> tuple[Any, Any]:
    """`(env, params)` of a base env; `episode_length` overrides its `max_steps_in_episode`.

    `backend` applies to brax envs only.
    """
    if name in BRAX_BASE_ENVS:  # the registry's ids: "brax/<name>" and gymnax's own
        env, params = registry.make(name, backend=backend)
    elif name in GYMNAX_BASE_ENVS:
        env, params = registry.make(name)
    else:
        raise ValueError(
            f"unknown meta base env {name!r}; known: {GYMNAX_BASE_ENVS + BRAX_BASE_ENVS}"
        )
    if episode_length is not None:
        if not isinstance(episode_length, int) or episode_length < 1:
            raise ValueError(
                f"episode_length must be a positive int or None, got {episode_length!r}"
            )
        params = params.replace(max_steps_in_episode=episode_length)
    return env, params


def base_env_uid(name: str) -> int:
    """Stable 31-bit id of a base env name (crc32), used to key its projections."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def make_task(
    env: ProjectedEnv,
    base_index: jax.Array,
    projection_id: jax.Array,
    seed: jax.Array,
    base_params: tuple,
) -> ProjectedParams:
    """The task `(env.names[base_index], projection_id)` as `ProjectedParams` (jittable).

    Every catalog entry's matrices are drawn (small) and the active one selected, so
    `base_index` may be traced.
    """
    root = jax.random.PRNGKey(seed)
    obs_matrices, action_matrices = [], []
    for index, name in enumerate(env.names):
        key = jax.random.fold_in(jax.random.fold_in(root, base_env_uid(name)), projection_id)
        obs_matrix, action_matrix = sample_projection(
            key, env.obs_dims[index], env.action_dims[index], env.obs_width, env.action_width
        )
        obs_matrix, action_matrix = env.pad_matrices(index, obs_matrix, action_matrix)
        obs_matrices.append(obs_matrix)
        action_matrices.append(action_matrix)
    base_index = jnp.asarray(base_index, jnp.int32)
    return ProjectedParams(
        base_index=base_index,
        obs_matrix=jnp.stack(obs_matrices)[base_index],
        action_matrix=jnp.stack(action_matrices)[base_index],
        base_params=base_params,
    )


@struct.dataclass
class TaskDistribution:
    """Tasks drawn by `sample_task`: base env ~ `base_probs`, projection id ~ U[low, high)."""

    base_probs: jax.Array  # float32 [N], over the catalog entries of the ProjectedEnv
    projection_low: jax.Array  # int32 [], first projection id (inclusive)
    projection_high: jax.Array  # int32 [], last projection id (exclusive)
    seed: jax.Array  # int32 [], root seed of all projections
    base_params: tuple  # params of each catalog env


def task_distribution(
    env: ProjectedEnv,
    projection_ids: tuple[int, int],
    *,
    base_weights: Sequence[float] | None = None,
    seed: int = 0,
    base_params: tuple | None = None,
) -> TaskDistribution:
    """A `TaskDistribution` over `env`'s catalog, checked (ValueError on bad ranges/weights).

    `projection_ids = (low, high)`, `0 <= low < high <= 2**31 - 1`; `base_weights` defaults to
    uniform and is normalised; `base_params` defaults to the catalog's params.
    """
    low, high = projection_ids
    if not (0 <= low < high <= 2**31 - 1):
        raise ValueError(
            f"projection_ids must satisfy 0 <= low < high < 2**31, got {projection_ids}"
        )
    weights = jnp.ones(len(env.names)) if base_weights is None else jnp.asarray(base_weights)
    if (
        weights.shape != (len(env.names),)
        or bool(jnp.any(weights < 0))
        or float(weights.sum()) <= 0
    ):
        raise ValueError(
            f"base_weights must be {len(env.names)} non-negative numbers with a positive sum "
            f"(one per catalog env {env.names}), got {base_weights!r}"
        )
    return TaskDistribution(
        base_probs=(weights / weights.sum()).astype(jnp.float32),
        projection_low=jnp.asarray(low, jnp.int32),
        projection_high=jnp.asarray(high, jnp.int32),
        seed=jnp.asarray(seed, jnp.int32),
        base_params=env.default_params.base_params if base_params is None else base_params,
    )


def sample_task(env: ProjectedEnv, key: jax.Array, dist: TaskDistribution) -> ProjectedParams:
    """Draw one task from `dist` (jittable, vmappable over `key`)."""
    key_base, key_projection = jax.random.split(key)
    base_index = jax.random.categorical(key_base, jnp.log(dist.base_probs))
    projection_id = jax.random.randint(
        key_projection, (), dist.projection_low, dist.projection_high, jnp.int32
    )
    return make_task(env, base_index, projection_id, dist.seed, dist.base_params)
