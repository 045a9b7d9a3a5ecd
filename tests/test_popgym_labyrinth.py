"""LabyrinthEscape / LabyrinthExplore vs popgym 1.0.7, and our maze generator's invariants.

Our mazes cannot be bit-identical to mazelib's (different random streams), so the replay forces
the maze: each episode starts from our env's `reset`, and popgym's `Maze` is replaced by a stub
that hands popgym that same grid, start and exit. Both envs then take the same actions and must
agree exactly on every observation, reward and done flag. If mazelib is not installed, stub
modules stand in for it so that popgym's labyrinth modules import at all.
"""

import collections
import functools
import importlib.machinery
import random
import sys
import types

import jax
import numpy as np
import pytest
from popgym_replay import jax_env, make_pair, replay, rollout_checks

from envs.popgym.labyrinth import (
    FREE,
    GOAL,
    MAZE_DIMS,
    OBSTACLE,
    START,
    generate_maze,
    sample_entrances,
)

MOVES = ((0, -1), (0, 1), (-1, 0), (1, 0))  # LEFT, RIGHT, UP, DOWN as (dy, dx)
pytestmark = pytest.mark.filterwarnings(
    "ignore:Maze environments have been shown:DeprecationWarning"
)


def _import_popgym_maze():
    """popgym's maze modules (stub mazelib modules stand in if it is not installed)."""
    try:
        import mazelib  # noqa: F401

        installed = True
    except ImportError:
        installed = False
        for name in ("mazelib", "mazelib.generate", "mazelib.generate.HuntAndKill"):
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = module
        sys.modules["mazelib"].Maze = None  # replaced by ForcedMaze in every test
        sys.modules["mazelib.generate.HuntAndKill"].HuntAndKill = None
    import popgym.core.maze as popgym_maze
    from popgym.envs import labyrinth_escape as np_escape
    from popgym.envs import labyrinth_explore as np_explore

    return installed, popgym_maze, np_escape, np_explore


MAZELIB_INSTALLED, POPGYM_MAZE, NP_ESCAPE, NP_EXPLORE = _import_popgym_maze()


class ForcedMaze:
    """Stands in for mazelib's `Maze` in popgym: `generate()` yields the grid set in `forced`."""

    forced = None  # (grid[H, W] int8 with FREE/OBSTACLE only, start (y, x), end (y, x) or None)

    def __init__(self):
        self.generator = None

    def generate(self):
        grid, self.start, self.end = ForcedMaze.forced
        self.grid = grid.copy()

    def generate_entrances(self, start_outer=True, end_outer=True):
        pass  # start and end were set by generate()


@pytest.fixture(autouse=True)
def forced_maze(monkeypatch):
    monkeypatch.setattr(POPGYM_MAZE, "Maze", ForcedMaze)
    monkeypatch.setattr(POPGYM_MAZE, "HuntAndKill", lambda *dims: None)


def sync_from(np_env, env, params, seed):
    """Each episode: our reset with a fresh key, then popgym's reset on the same maze."""

    def sync(episode):
        obs, state = env.reset(jax.random.fold_in(jax.random.key(seed), episode), params)
        grid = np.asarray(state.grid)
        start = tuple(int(v) for v in state.position)
        goals = np.argwhere(grid == GOAL)
        end = tuple(int(v) for v in goals[0]) if len(goals) else None
        raw = np.where((grid == START) | (grid == GOAL), OBSTACLE, grid).astype(np.int8)
        ForcedMaze.forced = (raw, start, end)
        np_obs, _ = np_env.reset(seed=seed + episode)
        np.testing.assert_array_equal(np_env.maze.grid, grid)
        np.testing.assert_array_equal(np_env.explored == 1, np.asarray(state.explored))
        return state, obs, np_obs

    return sync


def distances(grid, sources):
    """BFS step counts from `sources` over non-wall squares (-1 where unreachable)."""
    dist = np.full(grid.shape, -1)
    queue = collections.deque(sources)
    for y, x in sources:
        dist[y, x] = 0
    while queue:
        y, x = queue.popleft()
        for dy, dx in MOVES:
            ny, nx = y + dy, x + dx
            inside = 0 <= ny < grid.shape[0] and 0 <= nx < grid.shape[1]
            if inside and grid[ny, nx] != OBSTACLE and dist[ny, nx] < 0:
                dist[ny, nx] = dist[y, x] + 1
                queue.append((ny, nx))
    return dist


def step_towards(np_env, targets):
    """The move that starts a shortest path from the agent to the nearest of `targets`."""
    dist = distances(np_env.maze.grid, [tuple(t) for t in targets])
    y, x = np_env.position
    best = [
        dist[y + dy, x + dx] if 0 <= y + dy < dist.shape[0] and 0 <= x + dx < dist.shape[1] else -1
        for dy, dx in MOVES
    ]
    return int(np.argmin([d if d >= 0 else 10**9 for d in best]))


def escape_action(np_env):
    return step_towards(np_env, np.argwhere(np_env.maze.grid == GOAL))


def explore_action(np_env):
    unexplored = (np_env.maze.grid != OBSTACLE) & (np_env.explored == 0)
    return step_towards(np_env, np.argwhere(unexplored))


def mixed(expert, p_expert):
    """Policy `(np_env, rng) -> action`: `expert` with probability `p_expert`, else uniform."""
    return lambda np_env, rng: expert(np_env) if rng.random() < p_expert else int(rng.integers(4))


def replay_mazes(env_id, policy, *, num_steps, seed):
    """`replay` of `env_id` against popgym on our mazes, `policy(np_env, rng)` acting."""
    env, params, np_env = make_pair(NP_ESCAPE if "Escape" in env_id else NP_EXPLORE, env_id)
    return replay(
        np_env,
        env,
        params,
        sync_from(np_env, env, params, seed),
        lambda rng: policy(np_env, rng),
        num_steps=num_steps,
        seed=seed,
    )


def test_escape_replay_matches_popgym():
    episodes = replay_mazes("LabyrinthEscapeHard", mixed(escape_action, 0.7), num_steps=400, seed=1)
    assert sum(terminated for _, _, terminated in episodes) >= 2


def test_explore_replay_matches_popgym():
    episodes = replay_mazes(
        "LabyrinthExploreEasy", mixed(explore_action, 0.8), num_steps=700, seed=2
    )
    assert sum(terminated for _, _, terminated in episodes) >= 2


def test_random_walk_is_truncated_after_1023_steps():
    episodes = replay_mazes(
        "LabyrinthEscapeHard", lambda np_env, rng: int(rng.integers(4)), num_steps=1023, seed=3
    )
    assert episodes == [(pytest.approx(-1023 / 1024, abs=1e-4), 1023, False)]


def test_shortest_escape_returns_one_minus_path_cost():
    env, params, np_env = make_pair(NP_ESCAPE, "LabyrinthEscapeHard")
    sync = sync_from(np_env, env, params, 4)
    state, _, _ = sync(0)
    grid = np.asarray(state.grid)
    shortest = distances(grid, [tuple(np.asarray(state.position))])[grid == GOAL].item()
    episodes = replay(
        np_env, env, params, sync, lambda rng: escape_action(np_env), num_steps=shortest, seed=4
    )
    assert episodes == [(pytest.approx(1 - shortest / 1024, abs=1e-5), shortest, True)]


def test_full_exploration_earns_one_minus_revisits():
    """New squares pay 1/F in total 1; each revisiting step costs 1/1024."""
    episodes = replay_mazes(
        "LabyrinthExploreEasy", lambda np_env, rng: explore_action(np_env), num_steps=300, seed=5
    )
    ret, length, terminated = episodes[0]
    free = 2 * 25 - 1  # a perfect 5x5-cell maze: 25 cells + 24 passages, START not counted
    assert terminated and length >= free
    assert ret == pytest.approx(1 - (length - free) / 1024, abs=1e-5)


@functools.cache
def our_mazes(level, count=300):
    rows, cols = MAZE_DIMS[level]
    cells = (rows // 2) * (cols // 2)
    u = jax.random.uniform(jax.random.key(7), (count, cells, 2))
    return np.asarray(jax.jit(jax.vmap(lambda u: generate_maze(u, rows // 2, cols // 2)))(u))


def dead_ends(grid):
    """Cells (odd, odd squares) with exactly one open side."""
    cells = grid[1:-1:2, 1:-1:2] == FREE
    open_sides = sum(
        (grid[1 + dy : grid.shape[0] - 1 + dy : 2, 1 + dx : grid.shape[1] - 1 + dx : 2] == FREE)
        for dy, dx in MOVES
    )
    return int((cells & (open_sides == 1)).sum())


@pytest.mark.parametrize("level", ["Easy", "Hard"])
def test_generator_makes_perfect_mazes(level):
    """Shape, walled border, every cell open, and a spanning tree: connected, F = 2 cells - 1."""
    rows, cols = MAZE_DIMS[level]
    cells = (rows // 2) * (cols // 2)
    mazes = our_mazes(level)
    assert mazes.shape[1:] == (rows + 1, cols + 1) and mazes.dtype == np.int8
    for grid in mazes[:50]:
        assert set(np.unique(grid)) == {FREE, OBSTACLE}
        assert (grid[[0, -1], :] == OBSTACLE).all() and (grid[:, [0, -1]] == OBSTACLE).all()
        assert (grid[1::2, 1::2] == FREE).all() and (grid[::2, ::2] == OBSTACLE).all()
        assert (grid == FREE).sum() == 2 * cells - 1  # cells + (cells - 1) passages: no cycle
        assert (distances(grid, [(1, 1)])[grid == FREE] >= 0).all()  # all reachable
    assert len({grid.tobytes() for grid in mazes}) == len(mazes)


@pytest.mark.skipif(not MAZELIB_INSTALLED, reason="mazelib is not installed")
@pytest.mark.parametrize(("level", "mazelib_count"), [("Easy", 300), ("Hard", 100)])
def test_generator_matches_mazelib_hunt_and_kill_texture(level, mazelib_count):
    """Mean dead-end count of ours vs mazelib's HuntAndKill (Kruskal's is twice as high)."""
    from mazelib.generate.HuntAndKill import HuntAndKill as hunt_and_kill

    rows, cols = MAZE_DIMS[level]
    theirs = []
    for seed in range(mazelib_count):
        random.seed(seed)
        np.random.seed(seed)
        theirs.append(dead_ends(hunt_and_kill(rows // 2, cols // 2).generate()))
    ours = [dead_ends(grid) for grid in our_mazes(level)]
    # std of the mean ~ 0.06 (Easy) / 0.17 (Hard); the two means are ~4.1 and ~10.1.
    assert np.mean(ours) == pytest.approx(
        np.mean(theirs), abs=4 * np.std(theirs) / np.sqrt(mazelib_count)
    )


def test_entrances_on_opposite_border_sides():
    u = jax.random.uniform(jax.random.key(8), (2000, 3))
    starts, ends = map(np.asarray, jax.jit(jax.vmap(lambda u: sample_entrances(u, 15, 15)))(u))
    sides = []
    for start, end in zip(starts, ends, strict=True):
        side = [start[0] == 0, start[0] == 14, start[1] == 0, start[1] == 14].index(True)
        opposite = {0: (14, None), 1: (0, None), 2: (None, 14), 3: (None, 0)}[side]
        assert end[0] == opposite[0] if opposite[0] is not None else end[1] == opposite[1]
        along = start[1] if side < 2 else start[0]
        across = end[1] if side < 2 else end[0]
        assert along % 2 == 1 and across % 2 == 1  # at a cell's row/column, never a corner
        sides.append(side)
    counts = np.bincount(sides, minlength=4)
    assert (np.abs(counts - 500) < 100).all(), counts


def test_rollout_jit_vmap_1024():
    """jit/vmap/determinism; full random episodes (1023 steps) are covered by the replays."""
    env, params = jax_env("LabyrinthExploreEasy")
    rollout_checks(env, params, num_envs=1024, num_steps=4)
