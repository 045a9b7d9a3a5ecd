"""Recurrent PPO with any `ssm_rl` memory: `make_train(config)` -> pure init/update/train.

    from agents.ppo import TrainPPOConfig, make_train
    ppo = make_train(TrainPPOConfig(model={"name": "s5", "d_model": 64, "num_layers": 2}))
    states = ppo.init_seeds(jax.random.split(jax.random.PRNGKey(0), 4))
    states, metrics = jax.jit(jax.vmap(ppo.train))(states)

The run machinery (Hydra CLI, chunks, checkpoints, TensorBoard) is `agents.ppo.run`.
"""

from agents.ppo.config import AlgoConfig, EnvConfig, NetworkConfig, TrainPPOConfig
from agents.ppo.network import ActorCritic
from agents.ppo.train import PPOState, RecurrentPPO, Transition, make_train, seed_keys

__all__ = [
    "ActorCritic",
    "AlgoConfig",
    "EnvConfig",
    "NetworkConfig",
    "PPOState",
    "RecurrentPPO",
    "TrainPPOConfig",
    "Transition",
    "make_train",
    "seed_keys",
]
