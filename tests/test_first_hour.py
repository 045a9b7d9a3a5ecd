"""What a new user meets at the command line (`scripts/train_ppo.py` through `hydra_main`,
in-process): the machine's preset, bad input answered in one line with no traceback and no
run directory left behind, a tiny run that writes its directory, a resume that does not add
one, and a run that fails in its first chunk leaving nothing."""

from __future__ import annotations

import re
import sys

import pytest
from run_harness import tiny_config

from agents.common import cli
from agents.common.checkpoint import save_checkpoint
from agents.common.faults import NonFiniteError
from agents.common.run_dir import RunDir
from agents.common.training import run_training
from agents.ppo.config import TrainPPOConfig, register_configs

TINY = ["model=gru", "model.d_model=8", "network.head_hidden=8", "algo.num_envs=4",
        "algo.num_steps=8", "algo.num_minibatches=2", "algo.update_epochs=1",
        "algo.total_timesteps=64", "logger.updates_per_chunk=2", "logger.tensorboard=false"]


QUIET_HYDRA = "hydra/hydra_logging=none"


def train_ppo(monkeypatch, capsys, *overrides: str) -> tuple[int, str, str]:
    """Run the train_ppo command line with `overrides`; `(exit status, stdout, stderr)`."""
    # Hydra's own log lines would bind handlers to this test's captured streams: keep them off.
    monkeypatch.setattr(sys, "argv", ["scripts/train_ppo.py", *overrides, QUIET_HYDRA])
    status = 0
    try:
        cli.hydra_main(TrainPPOConfig, "train_ppo", register_configs, choose_preset=True)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    return tmp_path


def finished_run(root) -> RunDir:
    runs = [p.parent for p in (root / "outputs").glob("*/*/config.yaml")]
    assert len(runs) == 1, runs
    return RunDir(runs[0])


BAD_INPUTS = [
    (["env.id=RepeatPrevEasy"], r"not in suite 'popgym' \(did you mean 'RepeatPreviousEasy'"),
    (["env.id=CartPole-v1"], r"is in suite 'gymnax', not 'popgym': select it with env=gymnax"),
    (["env=gymnax", "env.id=CartPole"], r"did you mean 'CartPole-v1'"),
    (["model=transformer", "model.d_model=30"], r"d_model=30 must be a positive multiple of"),
    (["algo.num_minibatches=7"], r"num_minibatches=7 must divide algo.num_envs=64"),
    (["algo.gamma=1.5"], r"algo.gamma=1.5 must lie in \[0.0, 1.0\]"),
    (["resume=does/not/exist"], r"'does/not/exist' is not a run directory"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_leaves_no_directory(workdir, monkeypatch, capsys,
                                                         overrides, message):
    status, _, err = train_ppo(monkeypatch, capsys, *overrides)
    assert status == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert re.search(message, lines[0]), lines[0]
    assert not (workdir / "outputs").exists() or not any((workdir / "outputs").rglob("*"))


def test_full_error_shows_the_traceback(workdir, monkeypatch, capsys):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    monkeypatch.setattr(sys, "argv", ["scripts/train_ppo.py", "algo.gamma=1.5", QUIET_HYDRA])
    with pytest.raises(ValueError, match="algo.gamma=1.5"):
        cli.hydra_main(TrainPPOConfig, "train_ppo", register_configs, choose_preset=True)


def test_tiny_run_then_resume_and_a_bad_checkpoint(workdir, monkeypatch, capsys):
    status, out, err = train_ppo(monkeypatch, capsys, *TINY)
    assert status == 0, err
    assert "preset=fast (no GPU/TPU found" in err
    run = finished_run(workdir)
    assert run.has_checkpoint() and run.read_config()["algo"]["num_envs"] == 4
    assert f"run directory: {run.path.resolve()}" in out
    assert "compiling a chunk of 2 update(s)" in out
    assert "2 updates x 32 env steps = 64 env steps per seed" in out

    status, _, err = train_ppo(monkeypatch, capsys, f"resume={run.path}", "algo.num_envs=8")
    assert status == 2 and "remove the other overrides ['algo.num_envs=8']" in err
    status, _, err = train_ppo(monkeypatch, capsys, f"resume={run.path}")
    assert status == 0, err
    assert finished_run(workdir).path == run.path  # resuming made no second directory

    run.checkpoint_path.write_bytes(b"not a checkpoint")
    status, _, err = train_ppo(monkeypatch, capsys, f"resume={run.path}")
    assert status == 2 and "Traceback" not in err
    assert "is not an ssm_rl checkpoint (bad header)" in err


def test_preset_follows_the_machine(monkeypatch, capsys):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert cli.preset_for_machine(["model=gru"]) == ["preset=fast"]
    monkeypatch.setenv("JAX_PLATFORMS", "cuda")
    assert cli.preset_for_machine([]) == ["preset=paper"]
    assert "preset=fast for a quick run" in capsys.readouterr().err
    assert cli.preset_for_machine(["preset=fast"]) == []
    assert cli.preset_for_machine(["resume=outputs/x"]) == []


def test_a_run_that_fails_in_its_first_chunk_leaves_no_directory(tmp_path):
    config = tiny_config(updates=4, algo={"learning_rate": 1e15, "num_minibatches": 1},
                         logger={"updates_per_chunk": 4})
    with pytest.raises(NonFiniteError, match="at update 2"):
        run_training(TrainPPOConfig.from_dict(config), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_checkpoints_are_readable_like_any_file_the_user_writes(tmp_path):
    path = save_checkpoint(tmp_path / "c.ckpt", {"w": [1.0]}, {"update": 1})
    other = tmp_path / "other"
    other.write_text("x")
    assert path.stat().st_mode & 0o777 == other.stat().st_mode & 0o777
