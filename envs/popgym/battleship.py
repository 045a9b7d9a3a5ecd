"""POPGym's Battleship: fire at a hidden board, observe only hit (1) or miss (0).

Rules (popgym 1.0.7): ships of sizes (2, 3, 3, 4) are placed one after another on an
`n x n` board (n = 8/10/12 for Easy/Medium/Hard): a ship's first cell is uniform on the board,
its axis and direction uniform, and the placement is redrawn until the ship lies on the board
and overlaps no earlier ship (touching is allowed). The action is a MultiDiscrete `[row, col]`.
A shot is a hit only on a ship cell not shot before; a hit pays `1 / needed_hits`
(needed_hits = 12), anything else `-1 / (n^2 - needed_hits)`. Terminated once every ship cell
is hit; truncated when `time >= n^2`; both may be true on the same step. The observation is
the last shot's outcome (0 at reset). A perfect game (each ship cell once) returns exactly 1;
shooting only empty cells, some twice, returns as low as `-n^2 / (n^2 - 12)` (popgym's own
bound: below -1, and random play occasionally gets there).

JAX form: the observation is an int32 scalar (Discrete(2)). Ships are placed by one uniform
draw each over the valid placements, which has the law of popgym's rejection sampler (see
`place_ship`) without its loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.popgym.factory import env_factory
from envs.popgym.sampling import uniform_true_index
from envs.spaces import CountsActions, MultiDiscrete

SHIP_SIZES = (2, 3, 3, 4)


@struct.dataclass
class EnvState(environment.EnvState):
    """`board[n, n]` ship cells, `guesses[n, n]` cells shot at, `hits` ship cells hit so far."""

    board: jax.Array
    guesses: jax.Array
    hits: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    max_steps_in_episode: int = 100  # popgym: board_size ** 2


def place_ship(u: jax.Array, board: jax.Array, ship_size: int) -> jax.Array:
    """Add one straight ship of `ship_size` cells to `board[n, n]` (bool), chosen by u ~ U[0, 1)
    uniformly among the placements that stay on the board and cover no ship cell.

    popgym rejection-samples (first cell, axis, direction +-1) proposals; every valid placement
    is produced by exactly two of them (one from each end), so its law is this uniform one.
    """
    n = board.shape[0]
    # Placements by first (top/left) cell: count ship cells they would cover; off-board counts.
    padded = jnp.pad(board.astype(jnp.int32), (0, ship_size - 1), constant_values=1)
    covered_down = sum(padded[k : k + n, :n] for k in range(ship_size))
    covered_right = sum(padded[:n, k : k + n] for k in range(ship_size))
    free = jnp.stack([covered_down == 0, covered_right == 0]).ravel()  # [2 * n * n]
    choice = uniform_true_index(u, free)
    down, row, col = choice // (n * n) == 0, (choice // n) % n, choice % n
    rows, cols = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
    length_down = jnp.where(down, ship_size, 1)
    length_right = jnp.where(down, 1, ship_size)
    ship = (rows >= row) & (rows < row + length_down) & (cols >= col) & (cols < col + length_right)
    return board | ship


class Battleship(CountsActions, environment.Environment[EnvState, EnvParams]):
    """Battleship on a static `board_size x board_size` board with static `ship_sizes`."""

    def __init__(self, board_size: int = 10, ship_sizes: Sequence[int] = SHIP_SIZES):
        super().__init__()
        ship_sizes = tuple(int(s) for s in ship_sizes)
        if not ship_sizes or min(ship_sizes) < 1 or max(ship_sizes) > board_size:
            raise ValueError(
                f"ship_sizes must be non-empty, each in [1, board_size={board_size}], "
                f"got {ship_sizes}"
            )
        if sum(ship_sizes) >= board_size**2:
            raise ValueError(f"ships {ship_sizes} do not fit a {board_size}x{board_size} board")
        self.board_size = board_size
        self.ship_sizes = ship_sizes
        self.needed_hits = sum(ship_sizes)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(max_steps_in_episode=self.board_size**2)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        n = self.board_size
        board = jnp.zeros((n, n), bool)
        uniforms = jax.random.uniform(key, (len(self.ship_sizes),))
        for u, size in zip(uniforms, self.ship_sizes, strict=True):
            board = place_ship(u, board, size)
        state = EnvState(
            board=board, guesses=jnp.zeros((n, n), bool), hits=jnp.array(0, jnp.int32), time=0
        )
        return jnp.array(0, jnp.int32), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        row, col = action[0], action[1]
        hit = state.board[row, col] & ~state.guesses[row, col]
        state = state.replace(
            guesses=state.guesses.at[row, col].set(True),
            hits=state.hits + hit.astype(jnp.int32),
            time=state.time + 1,
        )
        # Scales from the static board, in float64 like popgym, then rounded once to float32:
        # all hits sum to 1; a board of misses sums to -1 over the n^2 - needed_hits empty cells.
        hit_reward = 1.0 / self.needed_hits
        miss_reward = -1.0 / (self.board_size**2 - self.needed_hits)
        reward = jnp.where(hit, jnp.float32(hit_reward), jnp.float32(miss_reward))
        terminated = state.hits == self.needed_hits
        return hit.astype(jnp.int32), state, reward, terminated, {}

    def action_space(self, params: EnvParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([self.board_size, self.board_size])

    def observation_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)


ENV_IDS: dict[str, Callable[[], tuple[Battleship, EnvParams]]] = {
    "BattleshipEasy": env_factory(Battleship, board_size=8),
    "BattleshipMedium": env_factory(Battleship, board_size=10),
    "BattleshipHard": env_factory(Battleship, board_size=12),
}
