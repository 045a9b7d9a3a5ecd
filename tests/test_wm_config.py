"""train_wm.yaml composes for every backbone; the schema and validation reject bad values."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from agents.world_models.config import TrainWMConfig, register_configs
from ssm_rl.memory import available_memories

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")


def composed(*overrides):
    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train_wm", overrides=list(overrides))
        return TrainWMConfig.from_dict(cfg)


MODELS = [m for m in ("s5", "mamba", "gru")
          if m in available_memories() and (Path(CONFIG_DIR) / "model" / f"{m}.yaml").is_file()]


@pytest.mark.parametrize("model", MODELS)
def test_config_composes_and_validates(model):
    config = composed("env=popgym", f"model={model}")
    assert config.memory_name == model
    assert config.model["d_model"] == 64  # wm=small shrinks the shared model group
    assert config.env.id == "RepeatFirstEasy"
    config.validate()


def test_overrides_and_errors():
    config = composed("agent.frequency_tau=20", "world_model.latent_groups=8")
    assert config.agent.frequency_tau == 20 and config.world_model.latent_groups == 8
    with pytest.raises(Exception, match="no_such_key"):
        composed("agent.no_such_key=1")
    with pytest.raises(ValueError, match="imag_context"):
        composed("agent.imag_context=1").validate()
    with pytest.raises(ValueError, match="prefill"):
        composed("agent.prefill=8", "agent.batch_length=64").validate()
    with pytest.raises(ValueError, match="unknown memory"):
        composed("model.name=nope").validate()
