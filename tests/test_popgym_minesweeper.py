"""MineSweeper vs popgym 1.0.7: bit-exact replay from copied mines, perfect game, mine law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import minesweeper as popgym_minesweeper
from popgym_expert import expert_episodes
from popgym_replay import LEVELS, jax_env, make_pair, replay, rollout_checks

from envs.popgym.minesweeper import CLEAR, MINE, EnvState, count_mines_3x3
from envs.spaces import MultiDiscrete


def state_from_numpy(np_env):
    """Our state from popgym's mines only: our own 3x3 counts are checked by the replay."""
    # jnp.array copies: jnp.asarray may alias the numpy buffer, which popgym edits in place.
    hidden = jnp.array(np_env.hidden_grid, jnp.int8)
    return EnvState(
        hidden=hidden,
        neighbors=count_mines_3x3(hidden == MINE),
        terminated=jnp.array(False),
        time=0,
    )


def sync_from(np_env, seed_offset):
    def sync(episode):
        np_obs, _ = np_env.reset(seed=seed_offset + episode)
        return state_from_numpy(np_env), jnp.int32(0), np_obs

    return sync


@pytest.mark.parametrize("level", LEVELS)
def test_spaces_and_lengths_match_popgym(level):
    env, params, np_env = make_pair(popgym_minesweeper, f"MineSweeper{level}")
    assert params.max_steps_in_episode == np_env.max_episode_length
    assert isinstance(env.action_space(params), MultiDiscrete)
    assert env.action_space(params).nvec.tolist() == np_env.action_space.nvec.tolist()
    assert env.observation_space(params).n == np_env.observation_space.n


@pytest.mark.parametrize("level", ["Easy", "Hard"])  # Medium differs only in static sizes
def test_replay_matches_popgym(level):
    env, params, np_env = make_pair(popgym_minesweeper, f"MineSweeper{level}")

    def choose_action(rng):
        # Mostly clicks on a hidden free cell (a good player), else anywhere: mines and repeats.
        if rng.random() < 0.8:
            hidden_free = np.argwhere(np_env.hidden_grid == 0)
            return hidden_free[rng.integers(len(hidden_free))]
        return rng.integers(np_env.dims, size=2)

    seed = 10 + LEVELS.index(level)
    episodes = replay(
        np_env, env, params, sync_from(np_env, 100 * seed), choose_action, num_steps=300, seed=seed
    )
    ends = {
        (terminated, length == params.max_steps_in_episode) for _, length, terminated in episodes
    }
    assert (True, False) in ends  # a mine (or a win before L steps) ended an episode


def test_perfect_game_returns_one():
    """Revealing every free cell once: L steps, terminated, return exactly 1 (max)."""
    env, params, np_env = make_pair(popgym_minesweeper, "MineSweeperHard")
    np_env.reset(seed=5)
    cells = iter(np.argwhere(np_env.hidden_grid == 0))
    episodes = replay(
        np_env, env, params, sync_from(np_env, 5), lambda rng: next(cells), num_steps=54, seed=5
    )
    assert episodes == [(pytest.approx(1.0, abs=1e-6), 54, True)]


def click_unrevealed_free_cell(key: jax.Array, state: EnvState) -> jax.Array:
    """Perfect memory of the clicks (and the mines): the first (row-major) hidden free cell."""
    w = state.hidden.shape[1]
    cell = jnp.argmax((state.hidden == CLEAR).ravel())
    return jnp.stack([cell // w, cell % w])


@pytest.mark.parametrize("level", LEVELS)
def test_expert_earns_max_return_on_our_boards(level):
    """On 256 of our boards per level, revealing each free cell once returns the maximum, 1.

    Each of the L free cells pays 1/L once, repeats and mines are negative, so the return is at
    most 1, reached exactly by L reveals in a row, the last one terminating the episode.
    """
    env, params = jax_env(f"MineSweeper{level}")
    episodes = expert_episodes(env, params, click_unrevealed_free_cell, num_envs=256)
    np.testing.assert_allclose(episodes.returns, 1.0, rtol=0, atol=1e-6)
    assert (episodes.lengths == env.free_cells).all() and episodes.terminated.all()


def test_repeats_then_mine_return_minus_one():
    """One reveal, L - 2 repeated clicks, then a mine: popgym's lowest return, exactly -1."""
    env, params, np_env = make_pair(popgym_minesweeper, "MineSweeperEasy")
    np_env.reset(seed=6)
    free, mine = np.argwhere(np_env.hidden_grid == 0)[0], np.argwhere(np_env.hidden_grid == 1)[0]
    clicks = iter([free] * 13 + [mine])
    episodes = replay(
        np_env, env, params, sync_from(np_env, 6), lambda rng: next(clicks), num_steps=14, seed=6
    )
    assert episodes == [(pytest.approx(-1.0, abs=1e-6), 14, True)]


def test_repeats_until_truncation():
    """L clicks that never finish the board nor hit a mine: truncated, not terminated."""
    env, params, np_env = make_pair(popgym_minesweeper, "MineSweeperEasy")
    np_env.reset(seed=8)
    free = np.argwhere(np_env.hidden_grid == 0)[0]
    episodes = replay(
        np_env, env, params, sync_from(np_env, 8), lambda rng: free, num_steps=14, seed=8
    )
    assert [(length, terminated) for _, length, terminated in episodes] == [(14, False)]


def test_mines_uniform_and_counts_match_loop():
    """Our reset: exactly num_mines mines, uniform over cells; counts equal a plain 3x3 loop."""
    env, params = jax_env("MineSweeperHard")
    keys = jax.random.split(jax.random.key(1), 4000)
    _, states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    mines = np.asarray(states.hidden) == MINE
    assert (mines.sum(axis=(1, 2)) == 10).all()
    # Each cell is a mine with probability 10/64 ~ 0.156; std of the mean ~ 0.006.
    assert np.abs(mines.mean(axis=0) - 10 / 64).max() < 0.03
    for board, counts in zip(mines[:20], np.asarray(states.neighbors[:20]), strict=True):
        for r in range(8):
            for c in range(8):
                block = board[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]
                assert counts[r, c] == block.sum()


def test_rollout_jit_vmap_1024_and_returns_in_range():
    env, params = jax_env("MineSweeperEasy")
    returns = rollout_checks(env, params, num_envs=1024, num_steps=40)
    assert len(returns) >= 1024
    assert returns.min() < 0 < returns.max()
