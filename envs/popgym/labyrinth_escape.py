"""POPGym's LabyrinthEscape: find the exit of a random maze seeing only a 3x3 window.

Rules (popgym 1.0.7): the agent starts on the maze's border entrance (START), the exit (GOAL)
is on the opposite border (see `envs.popgym.labyrinth` for the maze, moves and view). Every
step costs `1/1024`; stepping onto the GOAL adds +1 and terminates. Truncated after 1023 steps
(popgym's `curr_step == episode_length - 1`); both may be true on the same step. A return lies in
(-1, 1): `1 - k/1024` for an exit after k steps. Maze sizes: Easy/Medium/Hard 10/14/18 squares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from envs.popgym.factory import env_factory
from envs.popgym.labyrinth import GOAL, MAZE_DIMS, NONE, MazeEnv, MazeParams, MazeState


class LabyrinthEscape(MazeEnv):
    """Reach the GOAL square; observation int32 `[10]` (3x3 view + last action)."""

    def reset_env(self, key: jax.Array, params: MazeParams) -> tuple[jax.Array, MazeState]:
        grid, start, end = self.new_maze(key)
        state = self.start_state(grid.at[end[0], end[1]].set(GOAL), start)
        return self.observation(state, jnp.int32(NONE)), state

    def step_env(
        self, key: jax.Array, state: MazeState, action: jax.Array, params: MazeParams
    ) -> tuple[jax.Array, MazeState, jax.Array, jax.Array, dict[str, Any]]:
        state = self.walk(state, action)
        escaped = state.grid[state.position[0], state.position[1]] == GOAL
        reward = (escaped.astype(jnp.float32) - params.step_penalty).astype(jnp.float32)
        return self.observation(state, action), state, reward, escaped, {}


ENV_IDS: dict[str, Callable[[], tuple[LabyrinthEscape, MazeParams]]] = {
    f"LabyrinthEscape{difficulty}": env_factory(LabyrinthEscape, maze_dims=MAZE_DIMS[difficulty])
    for difficulty in MAZE_DIMS
}
