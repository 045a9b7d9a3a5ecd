"""Data-parallel training over every device of every host, with JAX's own sharding machinery.

One program runs on any number of devices. A train state keeps the seed axis
first; the *environment axis* (axis 1 of every per-environment leaf: env state, observation,
memory carry, ...) is split over the mesh axis `"data"`, everything else (parameters, optimiser
state, PRNG keys, counters) is replicated:

    mesh = data_mesh()                                   # all devices, all hosts
    shardings = env_shardings(state, mesh, trainer.per_env_fields)
    state = place(state, shardings)                      # host pytree -> global arrays

The compiler (GSPMD) partitions the jitted update from these input shardings: each device steps
its own environments, and inside the update `shard_env_axis` pins every minibatch to the same
split, so each device runs forward and backward on its share of the minibatch and the compiler
inserts the all-reduce that averages the gradients (the loss is a mean over the global
minibatch). No `pmap`, no hand-written `psum`; on one device every function here is a no-op and
the program is the single-device one.

Several hosts: `initialize(DistributedConfig)` calls `jax.distributed.initialize` before any
other JAX call; afterwards `jax.devices()` lists every host's devices, every process runs the
same program on global arrays and keeps its own shards. Every process builds the same initial
state from the same seed (host numpy, cheap) and `place` keeps its shards. Random streams are
*not* folded with the process index: the global program draws one key per environment over the
global batch, so environments on different hosts already get different streams, and the
replicated parameters must stay identical on every host (a per-process seed would make them
disagree). A run therefore gives the same result on any number of hosts and devices, to float32
round-off (the order of the gradient all-reduce). Only process 0 writes logs and checkpoints
(`is_main_process`); checkpoints hold whole host arrays (`to_host` gathers the shards), so a run
can resume on a different number of devices or hosts.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"


@dataclass
class DistributedConfig:
    """Multi-host setup. With `enabled`, unset fields come from the environment variables
    `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`, then from JAX's cluster
    auto-detection (SLURM, Open MPI, Kubernetes)."""

    enabled: bool = False  # call jax.distributed.initialize() before training
    coordinator_address: str | None = None  # "host:port" of process 0
    num_processes: int | None = None
    process_id: int | None = None


def initialize(config: DistributedConfig) -> None:
    """`jax.distributed.initialize` from `config` (nothing when disabled or already done).

    Must run before anything starts the JAX backend, including importing gymnax or `envs`.
    """
    if not config.enabled or jax.distributed.is_initialized():
        return
    options = {
        "coordinator_address": config.coordinator_address
        or os.environ.get("JAX_COORDINATOR_ADDRESS"),
        "num_processes": _int_from(config.num_processes, "num_processes", "JAX_NUM_PROCESSES"),
        "process_id": _int_from(config.process_id, "process_id", "JAX_PROCESS_ID"),
    }
    n, i = options["num_processes"], options["process_id"]
    if n is not None and n < 1:
        raise ValueError(f"distributed.num_processes={n} must be >= 1")
    if n is not None and i is not None and not 0 <= i < n:
        raise ValueError(f"distributed.process_id={i} must lie in [0, num_processes={n})")
    from jax._src import xla_bridge  # no public API tells whether the backend has started

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "distributed.enabled needs jax.distributed.initialize() before the JAX backend "
            "starts, but it already started (importing gymnax or envs starts it): call "
            "agents.common.distributed.setup_process(config.distributed) first, as "
            "agents.common.training.run_training does"
        )
    jax.distributed.initialize(**{k: v for k, v in options.items() if v is not None})


def setup_process(config: DistributedConfig, *, deterministic: bool = False) -> None:
    """What must happen before the first JAX computation of a training process: the
    deterministic XLA flags (agents.common.determinism) and `initialize(config)`."""
    if deterministic:
        from agents.common.determinism import enable_deterministic_ops

        enable_deterministic_ops()
    initialize(config)


def _int_from(value: int | None, name: str, env_var: str) -> int | None:
    if value is None and os.environ.get(env_var):
        text = os.environ[env_var]
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"environment variable {env_var}={text!r} is not an integer") from None
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"distributed.{name} must be an int or None, got {value!r}")
    return value


def data_mesh(devices: list | None = None) -> Mesh:
    """1-D mesh `("data",)` over `devices` (default: every device of every process).

    The axis is `Auto`: the compiler propagates shardings from the inputs and the constraints
    of `shard_env_axis` (GSPMD), it does not type-check them.
    """
    devices = jax.devices() if devices is None else list(devices)
    return jax.make_mesh(
        (len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices
    )


def check_divides(name: str, size: int, mesh: Mesh) -> None:
    """ValueError unless `size` (a batch dimension called `name`) splits evenly over the mesh."""
    n = mesh.shape[DATA_AXIS]
    if size % n:
        raise ValueError(
            f"{name}={size} does not divide over {n} devices; data-parallel training splits it "
            f"evenly, so use a multiple of {n} (e.g. {max(n, size - size % n)} or "
            f"{size + n - size % n})"
        )


def replicated(mesh: Mesh) -> NamedSharding:
    """The same value on every device."""
    return NamedSharding(mesh, P())


def env_shardings(state: Any, mesh: Mesh, per_env_fields: Collection[str], axis: int = 1) -> Any:
    """Shardings for a state dataclass: leaves under the fields `per_env_fields` (attribute
    paths: "obs", or "replay.data" for a field of a field) are split along `axis` (the
    environment axis, after the seed axis), all others replicated.

    ValueError if a per-environment leaf's axis does not divide over the mesh.
    """
    paths = [_field_names(path) for path, _ in jax.tree_util.tree_leaves_with_path(state)]
    fields = [tuple(f.split(".")) for f in per_env_fields]
    unknown = sorted(".".join(f) for f in fields if not any(p[:len(f)] == f for p in paths))
    if unknown:
        names = sorted({p[0] for p in paths})
        raise ValueError(f"per-environment fields {unknown} are not in the state; it has {names}")
    split = NamedSharding(mesh, P(*(None,) * axis, DATA_AXIS))

    def sharding(path, leaf) -> NamedSharding:
        names = _field_names(path)
        if not any(names[:len(f)] == f for f in fields):
            return replicated(mesh)
        where = jax.tree_util.keystr(path)
        if np.ndim(leaf) <= axis:
            raise ValueError(f"state{where} has shape {np.shape(leaf)}: no environment axis {axis}")
        check_divides(f"state{where} axis {axis}", np.shape(leaf)[axis], mesh)
        return split

    return jax.tree_util.tree_map_with_path(sharding, state)


def _field_names(path) -> tuple[str, ...]:
    return tuple(str(getattr(key, "name", getattr(key, "key", key))) for key in path)


def place(tree: Any, shardings: Any) -> Any:
    """Host (or single-device) pytree -> global arrays with `shardings`. Every process must pass
    the same values; each keeps the shards of its own devices."""
    return jax.device_put(jax.device_get(tree), shardings)


def shard_env_axis(tree: Any, axis: int) -> Any:
    """Constrain `axis` of every leaf to be split over the `"data"` axis of the mesh that is
    active while tracing (`jax.set_mesh`); the identity when no such mesh is set. Use it on
    minibatches inside an update so the compiler partitions the backward pass by environment.
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or DATA_AXIS not in mesh.axis_names:
        return tree
    spec = P(*(None,) * axis, DATA_AXIS)
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, spec), tree)


def is_main_process() -> bool:
    """True on process 0 (the one that writes logs and checkpoints), and in a single process."""
    return jax.process_index() == 0


def to_host(tree: Any) -> Any:
    """Numpy copy of a pytree of (possibly sharded, multi-host) arrays; a collective when
    several processes run, so every process must call it."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def any_process(flag: bool) -> bool:
    """True if `flag` is True on any process (a collective with several processes)."""
    if jax.process_count() == 1:
        return bool(flag)
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag))))
