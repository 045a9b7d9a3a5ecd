"""POPGym's Battleship: fire at a hidden board, observe only hit (1) or miss (0).

Rules (popgym 1.0.7): ships of sizes (2, 3, 3, 4) are placed one after another on an
`n x n` board (n = 8/10/12 for Easy/Medium/Hard): a ship's first cell is uniform on the board,
its axis and direction uniform, and the placement is redrawn until the ship lies on the board
and overlaps no earlier ship (touching is allowed). The action is a MultiDiscrete `[row, col]`.
A shot is a hit only on a ship cell not shot before; a hit pays `1 / needed_hits`
(needed_hits = 12), anything else `-1 / (n^2 - needed_hits)`. Terminated once every ship cell
is hit; truncated when `time >= n^2`; both may be true on the same step. The observation is
the last shot's outcome (0 at reset). A perfect game (each ship cell once) returns exactly 1.

JAX form: the observation is an int32 scalar (Discrete(2)), the ship placement a
`lax.while_loop` rejection sampler per ship with popgym's proposal distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.spaces import MultiDiscrete

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


def place_ship(key: jax.Array, board: jax.Array, ship_size: int) -> jax.Array:
    """Add one straight ship of `ship_size` cells to `board[n, n]` (bool) by rejection sampling.

    Proposal (popgym): first cell uniform, axis uniform, direction +-1 uniform; accepted when the
    ship is on the board and covers no ship cell.
    """
    n = board.shape[0]
    rows, cols = jnp.arange(n)[:, None], jnp.arange(n)[None, :]

    def propose(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        key_start, key_dir = jax.random.split(key)
        start = jax.random.randint(key_start, (2,), 0, n)
        axis, sign = jax.random.randint(key_dir, (2,), 0, 2)
        end = start.at[axis].add((1 - 2 * sign) * (ship_size - 1))
        lo, hi = jnp.minimum(start, end), jnp.maximum(start, end)
        mask = (rows >= lo[0]) & (rows <= hi[0]) & (cols >= lo[1]) & (cols <= hi[1])
        valid = jnp.all((end >= 0) & (end < n)) & ~jnp.any(mask & board)
        return mask, valid

    def body(carry: tuple[jax.Array, jax.Array, jax.Array]) -> tuple:
        key, _, _ = carry
        key, key_try = jax.random.split(key)
        return (key, *propose(key_try))

    _, mask, _ = jax.lax.while_loop(
        lambda carry: ~carry[2], body, (key, jnp.zeros_like(board), jnp.array(False))
    )
    return board | mask


class Battleship(environment.Environment[EnvState, EnvParams]):
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
        for key_ship, size in zip(jax.random.split(key, len(self.ship_sizes)), self.ship_sizes):
            board = place_ship(key_ship, board, size)
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
        # all hits sum to 1; a board of misses sums to -1 over the n^2 - needed_hits empty cells.
        reward = jnp.where(
            hit,
            1.0 / self.needed_hits,
            -1.0 / (params.max_steps_in_episode - self.needed_hits),
        ).astype(jnp.float32)
        terminated = state.hits == self.needed_hits
        return hit.astype(jnp.int32), state, reward, terminated, {}

    def action_space(self, params: EnvParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([self.board_size, self.board_size])

    def observation_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)


def _factory(board_size: int) -> Callable[[], tuple[Battleship, EnvParams]]:
    def make() -> tuple[Battleship, EnvParams]:
        env = Battleship(board_size=board_size)
        return env, env.default_params

    return make


ENV_IDS: dict[str, Callable[[], tuple[Battleship, EnvParams]]] = {
    "BattleshipEasy": _factory(8),
    "BattleshipMedium": _factory(10),
    "BattleshipHard": _factory(12),
}
