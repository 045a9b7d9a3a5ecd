"""POPGym's MineSweeper with the board hidden: click cells, observe the clicked cell's mine count.

Rules (popgym 1.0.7): `num_mines` mines are drawn without replacement on an `h x w` board
(Easy 4x4/2, Medium 6x6/6, Hard 8x8/10). The action is a MultiDiscrete `[row, col]`; the
observation is the number of mines in the 3x3 block centred on the clicked cell, *the cell
itself included* (popgym counts it; 0 at reset), Discrete(min(num_mines + 1, 10)). With
L = h w - num_mines free cells:
- clicking a mine: reward `-0.5 - 1/L`, terminated;
- clicking a cell already revealed: reward `-0.5 / (L - 2)`;
- clicking a new free cell reveals it: reward `1/L`; terminated once every free cell is revealed.
Truncated when `time == L` and the step did not terminate. Revealing every free cell once
returns exactly 1.

JAX form: the observation is an int32 scalar; the board is an int8 grid (0 clear, 1 mine,
2 revealed) as in popgym, plus a `terminated` flag so truncation can exclude termination. The
reward scales follow the static board; `EnvParams.max_steps_in_episode` (= L) sets truncation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.popgym.factory import env_factory
from envs.spaces import CountsActions, MultiDiscrete

CLEAR, MINE, VIEWED = 0, 1, 2  # popgym's HiddenSquare codes


@struct.dataclass
class EnvState(environment.EnvState):
    """`hidden[h, w]` int8 cell codes, `neighbors[h, w]` int32 mines in each 3x3 block."""

    hidden: jax.Array
    neighbors: jax.Array
    terminated: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    max_steps_in_episode: int = 14  # popgym: free cells, h * w - num_mines


def count_mines_3x3(mines: jax.Array) -> jax.Array:
    """`mines[h, w]` (0/1) -> int32 `[h, w]` mines in each cell's 3x3 block, the cell included."""
    h, w = mines.shape
    padded = jnp.pad(mines.astype(jnp.int32), 1)
    return sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3))


class MineSweeper(CountsActions, environment.Environment[EnvState, EnvParams]):
    """Hidden-board MineSweeper on a static `dims = (h, w)` board with `num_mines` mines."""

    def __init__(self, dims: tuple[int, int] = (4, 4), num_mines: int = 2):
        super().__init__()
        h, w = dims
        if h < 1 or w < 1 or not 1 <= num_mines <= h * w - 3:
            raise ValueError(
                f"need dims >= 1 and 1 <= num_mines <= h*w - 3, got dims={dims}, "
                f"num_mines={num_mines}"
            )
        self.dims = (int(h), int(w))
        self.num_mines = int(num_mines)
        self.free_cells = h * w - num_mines

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(max_steps_in_episode=self.free_cells)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        h, w = self.dims
        mine_cells = jax.random.choice(key, h * w, (self.num_mines,), replace=False)
        hidden = jnp.zeros(h * w, jnp.int8).at[mine_cells].set(MINE).reshape(h, w)
        state = EnvState(
            hidden=hidden,
            neighbors=count_mines_3x3(hidden == MINE),
            terminated=jnp.array(False),
            time=0,
        )
        return jnp.array(0, jnp.int32), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        row, col = action[0], action[1]
        cell = state.hidden[row, col]
        # Scales from the static board, in float64 like popgym, then rounded once to float32.
        free = self.free_cells
        success, fail = 1.0 / free, -0.5 - 1.0 / free
        # -0.5 over the L - 2 repeats that can fit between a first reveal and a final mine.
        repeat = -0.5 / (free - 2)
        reward = jnp.select(
            [cell == MINE, cell == VIEWED],
            [jnp.float32(fail), jnp.float32(repeat)],
            jnp.float32(success),
        )
        hidden = jnp.where(cell == CLEAR, state.hidden.at[row, col].set(VIEWED), state.hidden)
        terminated = (cell == MINE) | jnp.all(hidden != CLEAR)
        state = state.replace(hidden=hidden, terminated=terminated, time=state.time + 1)
        obs = state.neighbors[row, col]
        return obs, state, reward, terminated, {}

    def is_truncated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return (state.time >= params.max_steps_in_episode) & ~state.terminated

    def action_space(self, params: EnvParams | None = None) -> MultiDiscrete:
        return MultiDiscrete(self.dims)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(min(self.num_mines + 1, 10))


ENV_IDS: dict[str, Callable[[], tuple[MineSweeper, EnvParams]]] = {
    "MineSweeperEasy": env_factory(MineSweeper, dims=(4, 4), num_mines=2),
    "MineSweeperMedium": env_factory(MineSweeper, dims=(6, 6), num_mines=6),
    "MineSweeperHard": env_factory(MineSweeper, dims=(8, 8), num_mines=10),
}
