"""envs.make / envs.suite / envs.register: ids, aliases, errors, extension by dictionary."""

import numpy as np
import pytest

import envs
from envs import registry
from envs.popgym import POPGYM_IDS
from envs.popgym.repeat_previous import RepeatPrevious


def test_make_returns_env_and_its_default_params():
    env, params = envs.make("RepeatPreviousEasy")
    assert isinstance(env, RepeatPrevious) and (env.num_decks, env.k) == (1, 4)
    assert params == env.default_params


def test_suite_is_sorted_popgym_ids():
    ids = envs.suite("popgym")
    assert ids == sorted(POPGYM_IDS) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("env_id", envs.suite("popgym"))
def test_popgym_gymnasium_ids_are_aliases(env_id):
    env, params = envs.make(f"popgym-{env_id}-v0")
    reference, reference_params = envs.make(env_id)
    assert type(env) is type(reference) and vars(env) == vars(reference)
    assert params == reference_params


@pytest.mark.parametrize(
    ("alias", "env_id"),
    [
        ("StatelessCartPoleEasy", "PositionOnlyCartPoleEasy"),
        ("StatelessCartPoleMedium", "PositionOnlyCartPoleMedium"),
        ("StatelessCartPoleHard", "PositionOnlyCartPoleHard"),
        ("StatelessPendulumEasy", "PositionOnlyPendulumEasy"),
        ("StatelessPendulumMedium", "PositionOnlyPendulumMedium"),
        ("StatelessPendulumHard", "PositionOnlyPendulumHard"),
        ("popgym-VelocityOnlyCartpoleHard-v0", "VelocityOnlyCartPoleHard"),  # popgym's spelling
    ],
)
def test_other_aliases(alias, env_id):
    env, params = envs.make(alias)
    reference, reference_params = envs.make(env_id)
    assert type(env) is type(reference) and params == reference_params


def test_unknown_id_suggests_closest_names():
    with pytest.raises(ValueError, match="RepeatPreviousEasy") as error:
        envs.make("RepeatPreviusEasy")
    assert "Unknown env id 'RepeatPreviusEasy'" in str(error.value)
    with pytest.raises(ValueError, match="Unknown suite 'popgim'"):
        envs.suite("popgim")


def test_register_extends_the_dictionary(monkeypatch):
    for table in ("_FACTORIES", "_SUITES", "_ALIASES"):
        monkeypatch.setattr(registry, table, {k: v for k, v in getattr(registry, table).items()})
    monkeypatch.setitem(registry._SUITES, "popgym", set(registry._SUITES["popgym"]))

    def factory(num_decks=1, k=2):
        env = RepeatPrevious(num_decks=num_decks, k=k)
        return env, env.default_params

    envs.register("MyRepeat", factory, suite="mine")
    envs.register_alias("my-repeat-v0", "MyRepeat")
    assert envs.suite("mine") == ["MyRepeat"]
    assert envs.make("my-repeat-v0")[0].k == 2
    assert envs.make("MyRepeat", k=7)[0].k == 7  # keyword arguments reach the factory
    with pytest.raises(ValueError, match="already registered"):
        envs.register("MyRepeat", factory)
    with pytest.raises(ValueError, match="already registered"):
        envs.register("popgym-RepeatFirstEasy-v0", factory)
    with pytest.raises(TypeError, match="callable"):
        envs.register("Other", None)
    assert "MyRepeat" not in envs.suite("popgym")


def test_every_popgym_env_counts_its_actions():
    from envs.spaces import MultiDiscrete

    for env_id in registry.suite("popgym"):
        env, params = registry.make(env_id)
        space = env.action_space(params)
        expected = space.flat_n if isinstance(space, MultiDiscrete) else getattr(
            space, "n", None) or int(np.prod(space.shape))
        assert env.num_actions == expected, env_id


def test_gymnax_and_brax_suites_name_every_env():
    import gymnax

    assert registry.suite("gymnax") == sorted(gymnax.registered_envs)
    brax_envs = pytest.importorskip("brax.envs")
    assert [f"brax/{n}" for n in sorted(brax_envs._envs)] == registry.suite("brax")
    assert registry.suites_of("CartPole-v1") == ["gymnax"]
    assert registry.suites_of("popgym-RepeatPreviousEasy-v0") == ["popgym"]  # an alias
