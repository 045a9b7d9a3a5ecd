"""Recurrent PPO with any `ssm_rl` memory: `RecurrentPPO(config)` -> pure init / iteration.

    from agents.ppo import RecurrentPPO, TrainPPOConfig
    ppo = RecurrentPPO(TrainPPOConfig(model={"name": "s5", "d_model": 64, "num_layers": 2}))
    states = ppo.init_seeds(jax.random.split(jax.random.PRNGKey(0), 4))
    states, metrics = jax.jit(jax.vmap(ppo.train))(states)

The run machinery (chunks, checkpoints, TensorBoard, resume, devices) is the trainers' shared
`agents.common.training.run_training(config, run_dir)`; the Hydra CLI is scripts/train_ppo.py.
"""

# Imported lazily: importing the trainer imports gymnax, which starts the JAX backend, and a
# multi-host run must call jax.distributed.initialize() before that (run_training does).
_EXPORTS = {
    "AlgoConfig": "agents.ppo.config",
    "NetworkConfig": "agents.ppo.config",
    "TrainPPOConfig": "agents.ppo.config",
    "ActorCritic": "agents.ppo.network",
    "PPOState": "agents.ppo.train",
    "RecurrentPPO": "agents.ppo.train",
    "Transition": "agents.ppo.train",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agents.ppo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
