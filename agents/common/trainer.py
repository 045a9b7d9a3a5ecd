"""The interface every trainer implements (recurrent PPO, the world-model agent), and what it
gets for free.

A trainer is a bundle of pure functions of one seed's state, built from its config:

    trainer = make_trainer(config)                # agents.common.training
    state = trainer.init(key)                     # one seed
    state, metrics = trainer.iteration(state)     # one iteration: collect + learn; scalar metrics

and a few facts the host loop (agents.common.training.run_training) needs: how many env steps
one iteration takes (`steps_per_iteration`, per seed), how many iterations the run has
(`num_iterations`), what one iteration is called in logs and checkpoints (`unit`), which state
fields carry the environment axis (`per_env_fields`, split over devices) and which batch sizes
must divide over the devices (`mesh_divisors`). The base class adds `init_seeds`, `run` (a chunk
of n iterations with one compiled program for any n) and `train` (every iteration).

Seeds are a leading axis: `jax.vmap(trainer.run, in_axes=(0, None, None))`.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from agents.common.episodes import mask_episode_statistics


class Trainer(abc.ABC):
    """Base class of the trainers; subclasses set the class variables and `config`,
    `steps_per_iteration` and `num_iterations`, and implement `init` and `iteration`."""

    unit: ClassVar[str]  # one iteration's name in metrics.jsonl and checkpoints ("update")
    per_env_fields: ClassVar[tuple[str, ...]]  # state fields whose leaves lead with the env axis

    config: Any
    steps_per_iteration: int  # env steps of one iteration, per seed
    num_iterations: int  # iterations of the whole run

    @abc.abstractmethod
    def init(self, rng: jax.Array) -> Any:
        """Fresh state of one seed."""

    @abc.abstractmethod
    def iteration(self, state: Any) -> tuple[Any, dict[str, jax.Array]]:
        """One iteration; metrics are scalars (`episode/count`, `episode/return`,
        `episode/length` among them)."""

    def mesh_divisors(self) -> dict[str, int]:
        """`{description: size}` of the batch sizes that must split evenly over the devices."""
        return {}

    def row_scalars(self, metrics: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        """Row `i` of a chunk's host metrics `{name: [num_seeds, n]}`, NaN where a metric has no
        value (episode statistics when no episode ended)."""
        return mask_episode_statistics({k: np.asarray(v[:, i], np.float64)
                                        for k, v in metrics.items()})

    def init_seeds(self, keys: jax.Array) -> Any:
        """States `init(key)` for `keys[num_seeds]`, stacked on a leading seed axis."""
        return self.stack_inits([(key,) for key in keys])

    def init_members(self, keys: jax.Array) -> Any:
        """States of every member of the run (`agents.common.sweep`) for `keys[num_seeds]`;
        the seeds themselves unless a trainer supports hyper-parameter sweeps."""
        return self.init_seeds(keys)

    def stack_inits(self, arguments: list[tuple]) -> Any:
        """`init(*args)` for each tuple of `arguments`, stacked on a leading axis.

        One jitted `init` per member, never a vmapped one: under `vmap`, orthogonal
        initialisers become a batched LAPACK QR, which deadlocks XLA:CPU's thread pool in jax
        0.10.2 when two such QRs run at once.
        """
        init = jax.jit(self.init)
        states = [init(*args) for args in arguments]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)

    def run(self, state: Any, count: jax.Array, max_count: int) -> tuple[Any, Any]:
        """`count` (traced, <= `max_count`) iterations in a `fori_loop`; metrics stacked
        `[max_count, ...]`, rows past `count` zero. One compiled program serves every chunk
        length, so a resumed run executes exactly the program of an uninterrupted one."""
        shapes = jax.eval_shape(self.iteration, state)[1]
        buffer = jax.tree.map(lambda s: jnp.zeros((max_count, *s.shape), s.dtype), shapes)

        def body(i, carry):
            state, buffer = carry
            state, metrics = self.iteration(state)
            return state, jax.tree.map(lambda b, m: b.at[i].set(m), buffer, metrics)

        return jax.lax.fori_loop(0, count, body, (state, buffer))

    def train(self, state: Any) -> tuple[Any, dict[str, jax.Array]]:
        """Every iteration from `state`: `(final state, metrics[num_iterations])`."""
        return jax.lax.scan(lambda s, _: self.iteration(s), state, None, self.num_iterations)


def seed_keys(config: Any) -> jax.Array:
    """`[config.num_seeds]` PRNG keys, one per seed of a run (split from `config.seed`)."""
    return jax.random.split(jax.random.PRNGKey(config.seed), config.num_seeds)
