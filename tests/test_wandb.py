"""Weights & Biases logging (`logger.wandb=true`): off by default and not a dependency; when on,
every metrics.jsonl row reaches `wandb.log` at its env step (tested with a stand-in module
that records the calls), and a missing package is a clear error before anything runs."""

from __future__ import annotations

import sys
import types

import pytest
from run_harness import tiny_config

from agents.common.run_dir import RunDir
from agents.common.training import run_training
from agents.ppo.config import TrainPPOConfig


class FakeRun:
    def __init__(self, calls, **options):
        self.calls, self.options = calls, options
        calls.append(("init", options))

    def log(self, values, step):
        self.calls.append(("log", step, values))

    def finish(self):
        self.calls.append(("finish",))


def test_rows_reach_wandb_at_their_env_step(tmp_path, monkeypatch):
    calls: list = []
    fake = types.ModuleType("wandb")
    fake.init = lambda **options: FakeRun(calls, **options)
    fake.__spec__ = types.SimpleNamespace(name="wandb")  # found by importlib.util.find_spec
    monkeypatch.setitem(sys.modules, "wandb", fake)
    config = TrainPPOConfig.from_dict(tiny_config(updates=2, num_seeds=2,
                                                  logger={"wandb": True}))
    run = run_training(config, tmp_path / "run")
    rows = RunDir(run).read_metrics()
    logs = [c for c in calls if c[0] == "log"]
    assert calls[0][0] == "init" and calls[-1] == ("finish",)
    assert calls[0][1]["config"]["logger"]["wandb"] is True
    assert [step for _, step, _ in logs] == [r["env_steps"] for r in rows]
    for (_, _, values), row in zip(logs, rows, strict=True):
        per_seed = row["metrics"]["loss/total"]
        assert values["loss/total"] == pytest.approx(sum(per_seed) / 2)
        assert values["loss/total/seed_1"] == pytest.approx(per_seed[1])


def test_wandb_missing_is_a_clear_error(monkeypatch):
    from agents.common import config as config_module

    no_wandb = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: None))
    monkeypatch.setattr(config_module, "importlib", no_wandb)
    config = TrainPPOConfig.from_dict(tiny_config(logger={"wandb": True}))
    with pytest.raises(ValueError, match=r"logger.wandb=true needs the wandb package"):
        config.validate()
    TrainPPOConfig.from_dict(tiny_config()).validate()  # off by default: no package needed
