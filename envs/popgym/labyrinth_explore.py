"""POPGym's LabyrinthExplore: visit every square of a random maze seeing only a 3x3 window.

Rules (popgym 1.0.7): the agent starts on the maze's border entrance (START; popgym draws an
exit too but leaves it a wall). Moving onto a square not explored before pays `1/F`, where F is
the number of FREE squares at reset (START excluded), so exploring everything earns +1; any other
step costs `1/1024`. Terminated once every non-wall square is explored; truncated after 1023
steps; both may be true on the same step. See `envs.popgym.labyrinth` for the maze, moves and
view. Maze sizes: Easy/Medium/Hard 10/14/18 squares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from envs.popgym.factory import env_factory
from envs.popgym.labyrinth import FREE, MAZE_DIMS, NONE, OBSTACLE, MazeEnv, MazeParams, MazeState
from envs.popgym.labyrinth import move as maze_move


class LabyrinthExplore(MazeEnv):
    """Explore every square; observation int32 `[10]` (3x3 view + last action)."""

    def reset_env(self, key: jax.Array, params: MazeParams) -> tuple[jax.Array, MazeState]:
        grid, start, _ = self.new_maze(key)
        state = self.start_state(grid, start)
        return self.observation(state, jnp.int32(NONE)), state

    def step_env(
        self, key: jax.Array, state: MazeState, action: jax.Array, params: MazeParams
    ) -> tuple[jax.Array, MazeState, jax.Array, jax.Array, dict[str, Any]]:
        target = maze_move(state.grid, state.position, action)
        new_square = ~state.explored[target[0], target[1]]
        state = self.walk(state, action)
        # START is not FREE, so the F new squares pay 1/F each and sum to exactly 1.
        free_squares = jnp.sum(state.grid == FREE)
        reward = jnp.where(new_square, 1.0 / free_squares, -params.step_penalty)
        explored_all = jnp.all(state.explored == (state.grid != OBSTACLE))
        return self.observation(state, action), state, reward.astype(jnp.float32), explored_all, {}


ENV_IDS: dict[str, Callable[[], tuple[LabyrinthExplore, MazeParams]]] = {
    f"LabyrinthExplore{difficulty}": env_factory(LabyrinthExplore, maze_dims=MAZE_DIMS[difficulty])
    for difficulty in MAZE_DIMS
}
