"""POPGym (popgym 1.0.7) re-implemented as jittable gymnax 1.x environments.

Each family lives in its own module, which defines `ENV_IDS: dict[str, factory]` mapping
popgym's class names (e.g. ``"RepeatPreviousEasy"``) to a zero-argument factory returning
``(env, env_params)``. `FAMILIES` lists those modules; `POPGYM_IDS` merges their ids.
"""

from collections.abc import Callable

from gymnax.environments.environment import Environment, EnvParams

from envs.popgym import (
    autoencode,
    battleship,
    cartpole,
    concentration,
    count_recall,
    higher_lower,
    labyrinth_escape,
    labyrinth_explore,
    minesweeper,
    multiarmed_bandit,
    pendulum,
    repeat_first,
    repeat_previous,
)

FAMILIES = (
    repeat_first,
    repeat_previous,
    autoencode,
    count_recall,
    concentration,
    higher_lower,
    multiarmed_bandit,
    battleship,
    minesweeper,
    labyrinth_escape,
    labyrinth_explore,
    cartpole,
    pendulum,
)

POPGYM_IDS: dict[str, Callable[[], tuple[Environment, EnvParams]]] = {
    env_id: factory for module in FAMILIES for env_id, factory in module.ENV_IDS.items()
}
