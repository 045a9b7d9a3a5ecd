"""PPO learns, per action type, on tasks that need memory; a memory-less MLP cannot.

Chance level of every CueRecall variant is 0.25 for the discrete kinds (4 cues) and ~0.1 for
the continuous one (a standard-normal policy); without memory the best possible is 0.25
(discrete) and 0.5 (continuous: always answer 0). Small networks, a few minutes in total.
"""

import jax
import numpy as np
import pytest
from ppo_envs import make_cue_env

from agents.ppo.config import AlgoConfig, NetworkConfig, TrainPPOConfig
from agents.ppo.train import RecurrentPPO

pytestmark = pytest.mark.slow


def final_return(kind: str, memory: str, updates: int, seed: int = 0,
                 squash: str = "clip") -> float:
    model = {"name": memory, "d_model": 32}
    if memory == "s5":
        model.update(num_layers=2, state_size=32)
    config = TrainPPOConfig(
        model=model,
        network=NetworkConfig(head_hidden=32, action_squash=squash),
        algo=AlgoConfig(num_envs=32, num_steps=32, update_epochs=4, num_minibatches=4,
                        learning_rate=3e-3, gae_lambda=0.95, total_timesteps=32 * 32 * updates),
    )
    ppo = RecurrentPPO(config, *make_cue_env(kind, num_cues=4, max_delay=6))
    _, metrics = jax.jit(ppo.train)(ppo.init(jax.random.PRNGKey(seed)))
    return float(np.mean(np.asarray(metrics["episode/return"])[-5:]))


def test_discrete_s5_remembers_and_mlp_cannot():
    assert final_return("discrete", "s5", 40) > 0.8
    assert final_return("discrete", "mlp", 40) < 0.4


def test_multi_discrete_s5_learns():
    assert final_return("multi_discrete", "s5", 50) > 0.7


def test_continuous_s5_beats_the_best_memoryless_answer():
    s5 = final_return("continuous", "s5", 50)
    mlp = final_return("continuous", "mlp", 50)
    assert s5 > 0.7 and mlp < 0.6 and s5 > mlp + 0.15


def test_continuous_tanh_squashed_s5_beats_the_best_memoryless_answer():
    assert final_return("continuous", "s5", 50, squash="tanh") > 0.7


def test_fast_preset_s5_learns_repeat_previous(tmp_path):
    """The CLI's `preset=fast` on POPGym RepeatPreviousEasy: random play returns about -0.5."""
    from hydra import compose, initialize_config_dir

    from agents.common.cli import CONFIG_DIR, train_from_hydra
    from agents.common.run_dir import RunDir
    from agents.ppo.config import TrainPPOConfig, register_configs

    register_configs()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train_ppo", overrides=["preset=fast", "env.id=RepeatPreviousEasy",
                                              "algo.total_timesteps=196608", "logger=quiet",
                                              "logger.updates_per_chunk=24",
                                              "logger.checkpoint=false"])
    rows = RunDir(train_from_hydra(TrainPPOConfig, cfg, tmp_path)).read_metrics()
    returns = [r["metrics"]["episode/return"][0] for r in rows]
    assert np.mean(returns[:3]) < -0.3
    assert np.mean(returns[-3:]) > 0.2
