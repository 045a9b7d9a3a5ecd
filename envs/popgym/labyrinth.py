"""Mazes shared by POPGym's LabyrinthEscape and LabyrinthExplore: generator, moves, local view.

Grid conventions (popgym 1.0.7 `popgym.core.maze` on top of mazelib): a maze of `h x w` cells
(popgym's `maze_dims // 2`: 5/7/9 for Easy/Medium/Hard) is an int8 grid of shape
`(2h + 1, 2w + 1)`; cell (r, c) sits at grid (2r + 1, 2c + 1), the grid square between two
adjacent cells is a passage (0) or a wall (1), the outer border is wall. Codes:
FREE 0, OBSTACLE 1, START 2, GOAL 3.

Generator: mazelib's `HuntAndKill` (random hunt): from a uniform start cell, random-walk to a
uniform unvisited neighbour, carving, until stuck; then restart the walk from a visited cell with
an unvisited neighbour. mazelib finds that cell by uniform rejection sampling, which is the same
as a uniform draw among such cells; we draw it directly, so every step carves one cell and the
maze is complete (a spanning tree of the cells: a perfect maze) after exactly h w - 1 steps.
mazelib caps its hunts at (2h+1)(2w+1) draws and could in principle leave cells uncarved; that
never happened in 900 trial mazes at popgym's sizes. Our mazes follow mazelib's distribution but
are not bit-identical to it (different random streams), which is why the tests force the grid.

Entrances (mazelib `generate_entrances(start_outer=True)`): a uniform side of the border; the
start is a border square at a uniform odd index on that side, the end the same on the opposite
side.

Moves (actions LEFT 0, RIGHT 1, UP 2, DOWN 3; NONE 4 only appears in observations): the target
is clipped to the grid and refused if it is an OBSTACLE. Local view: popgym cuts rows y-1..y+1
and columns x-1..x+1 to the grid and pads the bottom/right with OBSTACLE, so on the top or left
border (a start or exit square) the view is *not* centred on the agent (a popgym quirk, kept).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.popgym.sampling import uniform_int, uniform_true_index
from envs.spaces import MultiDiscrete

FREE, OBSTACLE, START, GOAL = 0, 1, 2, 3
NUM_CELL_CODES = 5  # popgym also has HIDDEN = 4 (used only in its privileged state)
LEFT, RIGHT, UP, DOWN, NONE = 0, 1, 2, 3, 4
NUM_MOVES = 4
# (dy, dx) of each move, in action order.
_DELTAS = ((0, -1), (0, 1), (-1, 0), (1, 0))
MOVE_DELTAS = jnp.array(_DELTAS, jnp.int32)
# popgym's maze_dims per difficulty, in grid squares; cells are half of that.
MAZE_DIMS = {"Easy": (10, 10), "Medium": (14, 14), "Hard": (18, 18)}
EPISODE_LENGTH = 1024  # popgym's episode_length; it truncates after 1023 steps


def generate_maze(u: jax.Array, cells_h: int, cells_w: int) -> jax.Array:
    """Random perfect maze with mazelib's Hunt-and-Kill distribution, from uniforms
    `u[cells_h * cells_w, 2]` ~ U[0, 1) (row 0: the first cell; then one row per carved cell).

    Returns int8 `[2 cells_h + 1, 2 cells_w + 1]` with FREE (0) passages and OBSTACLE (1) walls.
    Written with whole-board masks (no gathers/scatters): it runs inside every vmapped `step`
    (gymnax auto-reset), where batched scatters are slow.
    """
    h, w = cells_h, cells_w

    def shifted(a: jax.Array, dy: int, dx: int, fill: bool) -> jax.Array:
        """`out[r, c] = a[r + dy, c + dx]`, `fill` off the board."""
        padded = jnp.pad(a, 1, constant_values=fill)
        return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    def carve(carry: tuple, u: jax.Array) -> tuple:
        visited, current, open_right, open_down = carry  # bool [h, w]; current is one-hot
        # options[r, c, m]: move m from cell (r, c) reaches an unvisited cell on the board.
        options = jnp.stack([~shifted(visited, dy, dx, True) for dy, dx in _DELTAS], axis=-1)
        stuck = ~jnp.any(options & current[..., None])
        # Hunt: a uniform visited cell that still has an unvisited neighbour.
        hunted = uniform_true_index(u[0], (visited & jnp.any(options, axis=-1)).ravel())
        current = jnp.where(stuck, (jnp.arange(h * w) == hunted).reshape(h, w), current)
        move = uniform_true_index(u[1], jnp.any(options & current[..., None], axis=(0, 1)))
        moved = jnp.stack([shifted(current, -dy, -dx, False) for dy, dx in _DELTAS])
        nxt = jnp.any(moved & (jnp.arange(NUM_MOVES) == move)[:, None, None], axis=0)
        # The passage right of / below a cell opens when a move crosses it.
        open_right |= jnp.where(move == RIGHT, current, False) | jnp.where(move == LEFT, nxt, False)
        open_down |= jnp.where(move == DOWN, current, False) | jnp.where(move == UP, nxt, False)
        return (visited | nxt, nxt, open_right, open_down), None

    start = (jnp.arange(h * w) == uniform_int(u[0, 0], h * w)).reshape(h, w)
    closed = jnp.zeros((h, w), bool)
    (visited, _, open_right, open_down), _ = jax.lax.scan(
        carve, (start, start, closed, closed), u[1:]
    )
    grid = jnp.ones((2 * h + 1, 2 * w + 1), jnp.int8)
    grid = grid.at[1::2, 1::2].set(jnp.where(visited, FREE, OBSTACLE))
    grid = grid.at[1::2, 2 : 2 * w : 2].set(jnp.where(open_right[:, :-1], FREE, OBSTACLE))
    return grid.at[2 : 2 * h : 2, 1::2].set(jnp.where(open_down[:-1, :], FREE, OBSTACLE))


def sample_entrances(u: jax.Array, grid_h: int, grid_w: int) -> tuple[jax.Array, jax.Array]:
    """mazelib's outer entrances from uniforms `u[3]` ~ U[0, 1): start on a uniform side of the
    border at a uniform odd index, end on the opposite side at a uniform odd index.

    Returns `(start[2], end[2])` int32 `(row, col)` grid squares on the border.
    """
    side = uniform_int(u[0], 4)  # North, South, West, East
    along = jnp.where(side < 2, grid_w // 2, grid_h // 2)  # odd indices on that side
    start_i = 2 * uniform_int(u[1], along) + 1
    end_i = 2 * uniform_int(u[2], along) + 1
    # side -> (start, end) for N, S, W, E.
    starts = jnp.stack(
        [
            jnp.stack([0, start_i]),
            jnp.stack([grid_h - 1, start_i]),
            jnp.stack([start_i, 0]),
            jnp.stack([start_i, grid_w - 1]),
        ]
    )
    ends = jnp.stack(
        [
            jnp.stack([grid_h - 1, end_i]),
            jnp.stack([0, end_i]),
            jnp.stack([end_i, grid_w - 1]),
            jnp.stack([end_i, 0]),
        ]
    )
    return starts[side].astype(jnp.int32), ends[side].astype(jnp.int32)


def move(grid: jax.Array, position: jax.Array, action: jax.Array) -> jax.Array:
    """popgym's move: `position[2] (y, x)` + action delta, clipped to the grid, blocked by walls."""
    high = jnp.array(grid.shape, jnp.int32) - 1
    target = jnp.clip(position + MOVE_DELTAS[action], 0, high)
    return jnp.where(grid[target[0], target[1]] == OBSTACLE, position, target)


def local_view(grid: jax.Array, position: jax.Array) -> jax.Array:
    """popgym's `[3, 3]` view: rows/cols y-1..y+1 / x-1..x+1 cut to the grid, OBSTACLE-padded
    at the bottom/right. Away from the top/left edge that is the centred window."""
    y, x = position[0], position[1]
    centred = jax.lax.dynamic_slice(jnp.pad(grid, 1, constant_values=OBSTACLE), (y, x), (3, 3))
    wall_row = jnp.full((1, 3), OBSTACLE, grid.dtype)
    # On row 0 popgym keeps rows 0 and 1 and pads below: the window slides up by one.
    view = jnp.where(y == 0, jnp.concatenate([centred[1:], wall_row]), centred)
    return jnp.where(x == 0, jnp.concatenate([view[:, 1:], wall_row.T], axis=1), view)


@struct.dataclass
class MazeState(environment.EnvState):
    """`grid[H, W]` int8 cell codes, agent `position[2]` (y, x), `explored[H, W]` bool."""

    grid: jax.Array
    position: jax.Array
    explored: jax.Array
    time: int


@struct.dataclass
class MazeParams(environment.EnvParams):
    """popgym truncates after `episode_length - 1` steps and charges `1 / episode_length` a step."""

    max_steps_in_episode: int = EPISODE_LENGTH - 1
    step_penalty: float = 1.0 / EPISODE_LENGTH


class MazeEnv(environment.Environment[MazeState, MazeParams]):
    """Base of the labyrinths: maze of `maze_dims = (rows, cols)` grid squares (even, popgym).

    Observation int32 `[10]`: the 3x3 local view (row-major, cell codes) then the last action
    (NONE = 4 at reset) — popgym's MultiDiscrete([5] * 9 + [5]). Action Discrete(4).
    Subclasses add `reset_env` and `step_env` from `new_maze` and `walk`.
    """

    def __init__(self, maze_dims: tuple[int, int] = MAZE_DIMS["Easy"]):
        super().__init__()
        rows, cols = maze_dims
        if rows % 2 or cols % 2 or rows < 6 or cols < 6:
            raise ValueError(
                f"maze_dims must be even and >= 6 (mazelib's 3x3 cells), got {maze_dims}"
            )
        self.cells = (rows // 2, cols // 2)
        self.grid_shape = (rows + 1, cols + 1)

    @property
    def default_params(self) -> MazeParams:
        return MazeParams()

    def new_maze(self, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """A fresh maze: `grid[H, W]` with START marked, `start[2]`, `end[2]` (end unmarked)."""
        num_cells = self.cells[0] * self.cells[1]
        u = jax.random.uniform(key, (2 * num_cells + 3,))  # one random call: cheaper to compile
        grid = generate_maze(u[: 2 * num_cells].reshape(num_cells, 2), *self.cells)
        start, end = sample_entrances(u[2 * num_cells :], *self.grid_shape)
        return grid.at[start[0], start[1]].set(START), start, end

    def start_state(self, grid: jax.Array, start: jax.Array) -> MazeState:
        """Agent at `start`, which is the only explored square."""
        explored = jnp.zeros(self.grid_shape, bool).at[start[0], start[1]].set(True)
        return MazeState(grid=grid, position=start, explored=explored, time=0)

    def walk(self, state: MazeState, action: jax.Array) -> MazeState:
        """popgym's `MazeEnv.step`: move, mark the new square explored, count the step."""
        position = move(state.grid, state.position, action)
        return state.replace(
            position=position,
            explored=state.explored.at[position[0], position[1]].set(True),
            time=state.time + 1,
        )

    def observation(self, state: MazeState, action: jax.Array) -> jax.Array:
        """int32 `[10]`: local view (9) then `action`."""
        view = local_view(state.grid, state.position).reshape(9).astype(jnp.int32)
        return jnp.concatenate([view, jnp.asarray(action, jnp.int32).reshape(1)])

    @property
    def num_actions(self) -> int:
        return NUM_MOVES

    def action_space(self, params: MazeParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_MOVES)

    def observation_space(self, params: MazeParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([NUM_CELL_CODES] * 9 + [NUM_MOVES + 1])
