"""Battleship vs popgym 1.0.7: bit-exact replay from copied boards, perfect game, placement law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import battleship as popgym_battleship
from popgym_expert import expert_episodes
from popgym_replay import LEVELS, jax_env, make_pair, replay, rollout_checks

from envs.popgym.battleship import SHIP_SIZES, EnvState
from envs.spaces import MultiDiscrete


def state_from_numpy(np_env):
    n = np_env.board_size
    return EnvState(
        board=jnp.array(np_env.board == 1),
        guesses=jnp.zeros((n, n), bool),
        hits=jnp.int32(0),
        time=0,
    )


@pytest.mark.parametrize("level", LEVELS)
def test_spaces_and_lengths_match_popgym(level):
    env, params, np_env = make_pair(popgym_battleship, f"Battleship{level}")
    assert params.max_steps_in_episode == np_env.max_episode_length
    assert isinstance(env.action_space(params), MultiDiscrete)
    assert env.action_space(params).nvec.tolist() == np_env.action_space.nvec.tolist()
    assert env.observation_space(params).n == np_env.observation_space.n
    assert list(env.ship_sizes) == np_env.ship_sizes


@pytest.mark.parametrize("level", ["Easy", "Hard"])  # Medium differs only in static sizes
def test_replay_matches_popgym(level):
    env, params, np_env = make_pair(popgym_battleship, f"Battleship{level}")

    def sync(episode):
        np_obs, _ = np_env.reset(seed=100 * LEVELS.index(level) + episode)
        return state_from_numpy(np_env), jnp.int32(0), np_obs

    def choose_action(rng):
        # Half the shots aim at a ship cell (possibly one hit before), half are uniform.
        if rng.random() < 0.5:
            ships = np.argwhere(np_env.board == 1)
            return ships[rng.integers(len(ships))]
        return rng.integers(np_env.board_size, size=2)

    episodes = replay(
        np_env, env, params, sync, choose_action, num_steps=300, seed=1 + LEVELS.index(level)
    )
    assert len(episodes) >= 2
    assert any(terminated for _, _, terminated in episodes)


def test_perfect_game_returns_one():
    """Hitting every ship cell exactly once ends the game (terminated) with return 1."""
    env, params, np_env = make_pair(popgym_battleship, "BattleshipHard")
    np_env.reset(seed=7)
    cells = iter(np.argwhere(np_env.board == 1))

    def sync(episode):
        return state_from_numpy(np_env), jnp.int32(0), 0

    episodes = replay(np_env, env, params, sync, lambda rng: next(cells), num_steps=12, seed=7)
    assert episodes == [(pytest.approx(1.0, abs=1e-6), 12, True)]


def fire_at_unhit_ship(key: jax.Array, state: EnvState) -> jax.Array:
    """Perfect memory of the shots: the first (row-major) ship cell not shot at yet."""
    n = state.board.shape[0]
    cell = jnp.argmax((state.board & ~state.guesses).ravel())
    return jnp.stack([cell // n, cell % n])


@pytest.mark.parametrize("level", LEVELS)
def test_expert_earns_max_return_on_our_boards(level):
    """On 128 of our boards per level, shooting each ship cell once returns the maximum, 1.

    Each of the 12 ship cells pays 1/12 once and every other shot is negative, so the return is
    at most 1, reached exactly by 12 hits in a row, the last one terminating the episode.
    """
    env, params = jax_env(f"Battleship{level}")
    episodes = expert_episodes(env, params, fire_at_unhit_ship, num_envs=128)
    np.testing.assert_allclose(episodes.returns, 1.0, rtol=0, atol=1e-6)
    assert (episodes.lengths == sum(SHIP_SIZES)).all() and episodes.terminated.all()


def test_all_misses_return_below_minus_one():
    """52 misses then 12 repeated misses: -1 - 12/52, truncated at n^2 steps (popgym's minimum)."""
    env, params, np_env = make_pair(popgym_battleship, "BattleshipEasy")
    np_env.reset(seed=3)
    empties = list(np.argwhere(np_env.board == 0))
    shots = iter(empties + [empties[0]] * (64 - len(empties)))  # then repeat a miss

    def sync(episode):
        return state_from_numpy(np_env), jnp.int32(0), 0

    episodes = replay(np_env, env, params, sync, lambda rng: next(shots), num_steps=64, seed=3)
    ((ret, length, terminated),) = episodes
    assert (length, terminated) == (64, False)
    assert ret == pytest.approx(-1.0 - 12 / 52, abs=1e-5)  # 52 misses at -1/52, 12 repeats


def test_ship_placement_matches_popgym_distribution():
    """Per-cell ship frequency of our sampler vs popgym's over 2000 boards (8x8)."""
    env, params, np_env = make_pair(popgym_battleship, "BattleshipEasy")
    keys = jax.random.split(jax.random.key(0), 2000)
    _, states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    boards = np.asarray(states.board)
    assert (boards.sum(axis=(1, 2)) == 12).all()  # 2 + 3 + 3 + 4 cells, never overlapping
    ours = boards.mean(axis=0)
    np_env.reset(seed=0)
    theirs = np.zeros((8, 8))
    for _ in range(2000):
        theirs += np_env.board / 2000
        np_env.reset()  # unseeded: popgym's generator runs on
    # std of a frequency difference ~ sqrt(2 * 0.19 * 0.81 / 2000) = 0.012; edges are rarer.
    assert np.abs(ours - theirs).max() < 0.05, np.abs(ours - theirs).max()
    assert ours[0, 0] < ours[3, 3] - 0.05


def test_rollout_jit_vmap_1024_and_returns_in_range():
    env, params = jax_env("BattleshipEasy")
    # popgym's lowest Battleship return: 52 misses then 12 repeated misses.
    returns = rollout_checks(env, params, num_envs=1024, num_steps=65, lowest_return=-64 / 52)
    assert len(returns) >= 1024  # every env finishes its 64-step episode
    assert returns.max() > 0 > returns.min()
