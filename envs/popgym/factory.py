"""`env_factory`: zero-argument `(env, env_params)` factories for each family's ENV_IDS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gymnax.environments.environment import Environment, EnvParams


def env_factory(
    env_cls: type[Environment], **env_kwargs: Any
) -> Callable[[], tuple[Environment, EnvParams]]:
    """Factory building `env_cls(**env_kwargs)` and returning it with its default params."""

    def make() -> tuple[Environment, EnvParams]:
        env = env_cls(**env_kwargs)
        return env, env.default_params

    make.__qualname__ = f"env_factory({env_cls.__name__}, {env_kwargs})"
    return make
