"""Environment ids -> factories: `make(env_id)`, `suite(name)`, `register(env_id, factory)`,
`factory(env_id)`.

Ids live in one dictionary, filled at import with three suites and extended by `register`
(e.g. the meta-RL package):

- `popgym`: the 48 POPGym envs of `envs.popgym.POPGYM_IDS`;
- `gymnax`: every id of `gymnax.registered_envs` (classic control, bsuite, MinAtar, misc),
  made by `gymnax.make(id, **options)`;
- `brax`: `"brax/<name>"` for the brax envs (`BRAX_ENV_NAMES`), behind the gymnax API by
  `envs.brax_adapter.BraxToGymnax` (options: backend, episode_length, action_repeat, and the
  brax env's own keywords). brax is an optional dependency, imported when such an env is made.
 `make` accepts canonical ids (popgym's class names such as
``"RepeatPreviousEasy"``) and aliases: popgym's gymnasium ids (``"popgym-RepeatPreviousEasy-v0"``)
and popjaxrl's ``StatelessCartPole*`` / ``StatelessPendulum*`` names for ``PositionOnly*``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnax
from gymnax.environments.environment import Environment, EnvParams

from envs.popgym import POPGYM_IDS

EnvFactory = Callable[..., tuple[Environment, EnvParams]]
# brax.envs' registry (brax 0.12-0.14), listed here so that importing envs needs no brax.
BRAX_ENV_NAMES = ("ant", "fast", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
                  "inverted_double_pendulum", "inverted_pendulum", "pusher", "reacher",
                  "swimmer", "walker2d")

_FACTORIES: dict[str, EnvFactory] = {}
_SUITES: dict[str, set[str]] = {}
_ALIASES: dict[str, str] = {}


def register(env_id: str, factory: EnvFactory, *, suite: str | None = None) -> None:
    """Add `env_id` -> `factory` (a callable returning `(env, env_params)`).

    `suite` optionally files the id under a suite name listed by `suite(name)`. Re-registering
    an existing id or alias raises `ValueError` (ids must stay unambiguous).
    """
    if not isinstance(env_id, str) or not env_id:
        raise TypeError(f"env_id must be a non-empty str, got {env_id!r}")
    if not callable(factory):
        raise TypeError(f"factory for {env_id!r} must be callable, got {factory!r}")
    if env_id in _FACTORIES or env_id in _ALIASES:
        raise ValueError(f"env id {env_id!r} is already registered")
    _FACTORIES[env_id] = factory
    if suite is not None:
        _SUITES.setdefault(suite, set()).add(env_id)


def register_alias(alias: str, env_id: str) -> None:
    """Make `alias` resolve to the registered `env_id`."""
    if env_id not in _FACTORIES:
        raise ValueError(f"cannot alias {alias!r} to unregistered env id {env_id!r}")
    if alias in _FACTORIES or alias in _ALIASES:
        raise ValueError(f"env id {alias!r} is already registered")
    _ALIASES[alias] = env_id


def factory(env_id: str) -> EnvFactory:
    """The factory registered for `env_id` (or the id it aliases).

    Unknown ids raise `ValueError` naming the closest registered ids.
    """
    canonical = _ALIASES.get(env_id, env_id)
    if canonical not in _FACTORIES:
        known = [*_FACTORIES, *_ALIASES]
        close = difflib.get_close_matches(str(env_id), known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown env id {env_id!r}.{hint} List ids with envs.suite(name), "
            f"suites: {sorted(_SUITES)}."
        )
    return _FACTORIES[canonical]


def suites_of(env_id: str) -> list[str]:
    """The suites the id (or the id it aliases) is filed under; `[]` if unregistered."""
    canonical = _ALIASES.get(env_id, env_id)
    return sorted(name for name, ids in _SUITES.items() if canonical in ids)


def make(env_id: str, **kwargs: Any) -> tuple[Environment, EnvParams]:
    """`(env, env_params)` for a registered id or alias, like `gymnax.make`.

    Keyword arguments are forwarded to the factory. Unknown ids raise `ValueError` naming the
    closest registered ids.
    """
    return factory(env_id)(**kwargs)


def suite(name: str) -> list[str]:
    """Sorted canonical ids filed under suite `name` (e.g. ``"popgym"``)."""
    if name not in _SUITES:
        raise ValueError(f"Unknown suite {name!r}; known suites: {sorted(_SUITES)}")
    return sorted(_SUITES[name])


def registered_ids() -> list[str]:
    """Sorted canonical ids of every registered environment (aliases excluded)."""
    return sorted(_FACTORIES)


def _register_popgym() -> None:
    for env_id, factory in POPGYM_IDS.items():
        register(env_id, factory, suite="popgym")
        register_alias(f"popgym-{env_id}-v0", env_id)
        if env_id.startswith("VelocityOnlyCartPole"):  # popgym registers "Cartpole" here
            register_alias(f"popgym-{env_id.replace('CartPole', 'Cartpole')}-v0", env_id)
        if env_id.startswith(("PositionOnlyCartPole", "PositionOnlyPendulum")):  # popjaxrl
            register_alias("Stateless" + env_id.removeprefix("PositionOnly"), env_id)


def make_brax(name: str, **options: Any) -> tuple[Environment, EnvParams]:
    """`(BraxToGymnax(name, **options), its default params)`."""
    from envs.brax_adapter import BraxToGymnax

    env = BraxToGymnax(name, **options)
    return env, env.default_params


def _register_gymnax_and_brax() -> None:
    for env_id in gymnax.registered_envs:
        register(env_id, partial(gymnax.make, env_id), suite="gymnax")
    for name in BRAX_ENV_NAMES:
        register(f"brax/{name}", partial(make_brax, name), suite="brax")


_register_popgym()
_register_gymnax_and_brax()
