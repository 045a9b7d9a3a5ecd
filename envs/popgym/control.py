"""Shared base of popgym's partially observed control families (CartPole, Pendulum).

Both fix the episode length, and for their Noisy* variants the observation-noise std, when the
env is built, and copy them into `default_params` (the family's own `EnvParams` dataclass).
"""

from __future__ import annotations

from gymnax.environments import environment
from gymnax.environments.environment import TEnvParams, TEnvState

from envs.spaces import CountsActions


class ControlEnvironment(CountsActions, environment.Environment[TEnvState, TEnvParams]):
    """`default_params = params_type(max_steps_in_episode=..., noise_sigma=...)`.

    Subclasses set `params_type`; noise-free envs keep `noise_sigma = 0`, noisy ones call
    `_set_noise_sigma` in their constructor.
    """

    params_type: type

    def __init__(self, max_steps_in_episode: int = 200):
        super().__init__()
        if max_steps_in_episode < 1:
            raise ValueError(f"max_steps_in_episode must be >= 1, got {max_steps_in_episode}")
        self._max_steps = max_steps_in_episode
        self._noise_sigma = 0.0

    def _set_noise_sigma(self, noise_sigma: float) -> None:
        if noise_sigma < 0:
            raise ValueError(f"noise_sigma must be >= 0, got {noise_sigma}")
        self._noise_sigma = noise_sigma

    @property
    def default_params(self) -> TEnvParams:
        return self.params_type(max_steps_in_episode=self._max_steps, noise_sigma=self._noise_sigma)
