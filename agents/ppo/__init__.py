"""Recurrent PPO with any `ssm_rl` memory: `make_train(config)` -> pure init/update/train.

    from agents.ppo import TrainPPOConfig, make_train
    ppo = make_train(TrainPPOConfig(model={"name": "s5", "d_model": 64, "num_layers": 2}))
    states = ppo.init_seeds(jax.random.split(jax.random.PRNGKey(0), 4))
    states, metrics = jax.jit(jax.vmap(ppo.train))(states)

The run machinery (Hydra CLI, chunks, checkpoints, TensorBoard) is `agents.ppo.run`.
"""

# Imported lazily: importing the trainer imports gymnax, which starts the JAX backend, and a
# multi-host run must call jax.distributed.initialize() before that (agents.ppo.cli does).
_EXPORTS = {
    "AlgoConfig": "agents.ppo.config",
    "EnvConfig": "agents.ppo.config",
    "NetworkConfig": "agents.ppo.config",
    "TrainPPOConfig": "agents.ppo.config",
    "ActorCritic": "agents.ppo.network",
    "PPOState": "agents.ppo.train",
    "RecurrentPPO": "agents.ppo.train",
    "Transition": "agents.ppo.train",
    "make_train": "agents.ppo.train",
    "seed_keys": "agents.ppo.train",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agents.ppo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


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
