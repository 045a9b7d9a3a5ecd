"""The training CLI in-process through Hydra's compose API: a tiny run writes its run directory,
a stopped-and-resumed run is bit-identical to an uninterrupted one, evaluate/plot read the run,
and bad overrides fail before compiling with messages that name the value."""

import jax
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

import agents.common.training as ppo_run
from agents.common.checkpoint import load_checkpoint
from agents.common.cli import CONFIG_DIR, train_from_hydra
from agents.common.kept_checkpoints import CheckpointKeeper
from agents.common.run_dir import RunDir
from agents.common.trainer import seed_keys
from agents.ppo.config import TrainPPOConfig, register_configs

# 4 envs x 8 steps = 32 env steps per update, 4 updates in 2 chunks, 2 seeds.
TINY = [
    "model=gru",
    "model.d_model=8",
    "network.head_hidden=8",
    "algo.num_envs=4",
    "algo.num_steps=8",
    "algo.num_minibatches=2",
    "algo.update_epochs=2",
    "algo.total_timesteps=128",
    "logger=quiet",
    "logger.updates_per_chunk=2",
    "num_seeds=2",
]


def compose_config(overrides):
    register_configs()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("train_ppo", overrides=overrides)


def test_defaults_are_the_paper_config():
    cfg = compose_config([])
    assert cfg.env.suite == "popgym" and cfg.model.name == "s5"
    assert (cfg.algo.num_envs, cfg.algo.num_steps, cfg.algo.update_epochs,
            cfg.algo.num_minibatches) == (64, 1024, 30, 8)
    assert cfg.model.state_size == 256 and cfg.model.num_layers == 4


class Stop(Exception):
    pass


def test_train_resume_evaluate_plot(tmp_path, monkeypatch):
    cfg = compose_config(TINY)
    full = train_from_hydra(TrainPPOConfig, cfg, tmp_path / "full")
    run = RunDir(full)
    rows = run.read_metrics()
    assert [r["update"] for r in rows] == [1, 2, 3, 4]
    assert all(len(r["metrics"]["loss/total"]) == 2 for r in rows)
    assert run.config_path.is_file() and run.checkpoint_path.is_file()

    # Stop after the first chunk's checkpoint, then resume from the run directory.
    real_save = CheckpointKeeper.save

    def save_then_stop(self, state, metadata, score):
        real_save(self, state, metadata, score)
        if metadata["update"] == 2:
            raise Stop

    monkeypatch.setattr(CheckpointKeeper, "save", save_then_stop)
    with pytest.raises(Stop):
        train_from_hydra(TrainPPOConfig, cfg, tmp_path / "stopped")
    monkeypatch.setattr(CheckpointKeeper, "save", real_save)
    assert [r["update"] for r in RunDir(tmp_path / "stopped").read_metrics()] == [1, 2]
    resume = [f"resume={tmp_path / 'stopped'}"]
    resumed = train_from_hydra(TrainPPOConfig, compose_config(resume), tmp_path / "x", resume)
    assert resumed == tmp_path / "stopped"

    ppo = ppo_run.make_trainer(ppo_run.load_run_config(full))
    target = ppo.init_seeds(seed_keys(ppo.config))
    a, meta_a = load_checkpoint(run.checkpoint_path, target)
    b, meta_b = load_checkpoint(RunDir(resumed).checkpoint_path, target)
    assert meta_a["update"] == meta_b["update"] == 4
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # bit-identical
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]
    drop_perf = lambda rows: [{**r, "metrics": {k: v for k, v in r["metrics"].items()
                                                if not k.startswith("perf/")}} for r in rows]
    assert drop_perf(strip(RunDir(resumed).read_metrics())) == drop_perf(strip(rows))

    import importlib.util

    def script(name):
        spec = importlib.util.spec_from_file_location(name, CONFIG_DIR.parent / "scripts" /
                                                      f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    results = script("evaluate").main([str(full), "--episodes", "3"])
    assert len(results["seeds"]) == 2
    assert all(-1.0 <= s[m]["mean"] <= 1.0 for s in results["seeds"] for m in ("greedy", "sampled"))
    png = script("plot").main([str(full), str(resumed), "--metric", "loss/total",
                               "--out", str(tmp_path / "c.png")])
    assert png.stat().st_size > 1000


def test_resume_rejects_other_overrides(tmp_path):
    with pytest.raises(ValueError, match=r"remove the other overrides \['algo.num_envs=8'\]"):
        overrides = [f"resume={tmp_path}", "algo.num_envs=8"]
        train_from_hydra(TrainPPOConfig, compose_config(overrides), tmp_path, overrides)


@pytest.mark.parametrize(
    "override,message",
    [
        ("algo.num_minibatches=3", r"num_minibatches=3 must divide algo.num_envs=4.*\[1, 2, 4\]"),
        ("env.id=RepeatPreviousEsay", r"env.id='RepeatPreviousEsay' is not in suite 'popgym'"),
        ("model.d_modle=8", None),  # typo in a key: Hydra rejects it
        ("algo.lerning_rate=0.1", None),
        ("model=s6", None),
        ("+model.hidden=3", r"unknown option\(s\) \['hidden'\] for memory 'gru'"),
        ("algo.gamma=1.5", r"algo.gamma=1.5 must lie in \[0.0, 1.0\]"),
        ("algo.total_timesteps=16", r"total_timesteps=16 is less than one update"),
    ],
)
def test_bad_overrides_fail_clearly(tmp_path, override, message):
    if message is None:
        with pytest.raises(ConfigCompositionException):
            compose_config([*TINY, override])
        return
    cfg = compose_config([*TINY, override])
    with pytest.raises(ValueError, match=message):
        train_from_hydra(TrainPPOConfig, cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoint.ckpt").exists()
