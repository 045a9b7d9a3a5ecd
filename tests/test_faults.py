"""Faults a training run must survive: stop signals, SIGKILL, non-finite numbers, bad checkpoints.

- The host loop (`agents.common.runner.run_chunks`) with a plain-Python chunk: a NaN/inf metric
  raises `NonFiniteError` naming update, seed and quantity before the callback (the checkpoint
  writer) sees the chunk; a stop signal during a chunk marks that chunk `stopping` and ends
  the run with `TrainingInterrupted` (exit status 128 + signal); a second Ctrl-C interrupts at
  once; the previous signal handlers come back afterwards.
- Real PPO runs in child processes, paced by a 0.5 s pause after each chunk's checkpoint
  (`RunLogger.advance` patched in the child) so a signal lands between chunks: SIGINT with
  periodic checkpoints off still saves; SIGKILL leaves the last checkpoint intact and SIGTERM
  saves, and resuming twice ends bit-identical (CPU) to a run that was never stopped.
- A learning rate of 1e15 (a typo) makes update 2 non-finite: the run stops naming it and keeps
  the checkpoint of update 1.
- Resuming from a truncated checkpoint, or one with another model's state, raises
  `CheckpointError` saying what is wrong (not a serializer stack trace); so does a damaged
  header; a crash while writing leaves the previous checkpoint and no temporary file.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from run_harness import flat_state, metric_rows, python_command, subprocess_env, tiny_config

from agents.common import checkpoint as checkpoint_module
from agents.common.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from agents.common.faults import NonFiniteError, StopSignals, TrainingInterrupted, check_finite
from agents.common.run_dir import RunDir
from agents.common.runner import run_chunks
from agents.common.training import run_training
from agents.ppo.config import TrainPPOConfig

# ------------------------------------------------------------------- host loop, no compiling


def fake_chunk(bad_update: int | None = None, signal_at: int | None = None):
    """A chunk function for `run_chunks`: state = updates done; metric "loss/total" is NaN at
    `bad_update`; sends SIGTERM to this process while computing update `signal_at`."""

    def chunk(state, n):
        rows = []
        for _ in range(int(n)):
            state += 1
            if state == signal_at:
                os.kill(os.getpid(), signal.SIGTERM)
            rows.append(np.nan if state == bad_update else 1.0 / state)
        return state, {"loss/total": np.array([rows]), "episode/count": np.array([[0] * len(rows)])}

    return chunk


def test_check_finite_names_update_seed_and_quantity():
    metrics = {"loss/actor": np.ones((3, 4)), "params/norm": np.ones((3, 4))}
    check_finite(metrics, first=1)  # all finite: nothing
    metrics["params/norm"][2, 1] = np.inf
    metrics["loss/actor"][1, 3] = np.nan  # later update: not the first one reported
    with pytest.raises(NonFiniteError) as info:
        check_finite(metrics, first=11)
    message = str(info.value)
    assert "params/norm = inf" in message and "update 12" in message and "seed 2" in message
    assert (info.value.update, info.value.seed, info.value.name) == (12, 2, "params/norm")


@pytest.mark.parametrize("per_chunk", [1, 2])
def test_non_finite_metric_stops_before_the_chunk_is_saved(per_chunk):
    saved = []
    with pytest.raises(NonFiniteError, match="loss/total = nan at update 4 "):
        run_chunks(fake_chunk(bad_update=4), 0, done=0, total=10, per_chunk=per_chunk,
                   callback=lambda report: saved.append(report.done))
    # the chunk holding update 4 never reaches the callback (the checkpoint writer)
    assert saved == ([1, 2, 3] if per_chunk == 1 else [2])


def test_stop_signal_ends_the_run_after_the_chunk_it_arrived_in():
    previous = signal.getsignal(signal.SIGTERM)
    reports = []
    with pytest.raises(TrainingInterrupted) as info:
        run_chunks(fake_chunk(signal_at=3), 0, done=0, total=10, per_chunk=2,
                   callback=lambda report: reports.append((report.done, report.stopping)))
    assert reports == [(2, False), (4, True)]  # the chunk with update 3 is marked to be saved
    assert info.value.code == 128 + signal.SIGTERM and info.value.done == 4
    assert "SIGTERM after update 4" in str(info.value)
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_signal_during_the_last_chunk_lets_the_run_finish():
    reports = []
    state = run_chunks(fake_chunk(signal_at=5), 0, done=0, total=5, per_chunk=5,
                       callback=lambda report: reports.append(report.stopping))
    assert state == 5 and reports == [False]


def test_second_ctrl_c_interrupts_at_once():
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


# ------------------------------------------------------------------------------ checkpoints
# (round trip, truncation, bit flips, foreign files, mismatched leaves: tests/test_checkpoint.py)


def small_state(width: int = 3) -> dict:
    return {"params": {"w": np.arange(width * 2, dtype=np.float32).reshape(width, 2),
                       "b": np.zeros(2, np.float32)},
            "step": np.int32(7)}


@pytest.mark.parametrize(
    "damage",
    [lambda data: b"", lambda data: data[:5], lambda data: b"SSMRL-CKPT one 2 abc\n" + data],
    ids=["empty", "header-cut", "header-not-numbers"],
)
def test_damaged_header_is_a_clear_error(tmp_path, damage):
    path = save_checkpoint(tmp_path / "c.ckpt", small_state())
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match="is not an ssm_rl checkpoint") as info:
        load_checkpoint(path, small_state())
    assert str(path) in str(info.value)


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.ckpt", small_state(), {"update": 1})

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, small_state(), {"update": 2})
    assert read_metadata(path) == {"update": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ckpt"]  # no temporary left


def test_resuming_a_bad_checkpoint_is_a_clear_error(tmp_path):
    """`resume=<run dir>` whose checkpoint is truncated or holds another model's state."""
    config = TrainPPOConfig.from_dict(tiny_config())
    run = RunDir(tmp_path)
    run.write_config({**config.to_dict(), "resume": None})
    path = save_checkpoint(run.checkpoint_path, small_state(), {"update": 1})
    resume = TrainPPOConfig.from_dict({"resume": str(tmp_path)})
    with pytest.raises(CheckpointError, match="does not match the train state at /"):
        run_training(resume)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(CheckpointError, match="truncated"):
        run_training(resume)


# ----------------------------------------------------------------- real PPO runs, killed

PACED_TRAIN = """
import json, sys, time
from agents.common import run_logger
advance = run_logger.RunLogger.advance
def paced(self, amount, postfix=None):  # runs after the chunk's checkpoint is written
    advance(self, amount, postfix)
    print("chunk", flush=True)
    time.sleep(float(sys.argv[3]))
run_logger.RunLogger.advance = paced
from agents.ppo.config import TrainPPOConfig
from agents.common.training import run_training
config, run_dir = (json.loads(a) for a in sys.argv[1:3])
run_training(TrainPPOConfig.from_dict(config), run_dir)
"""


def start_run(config: dict, run_dir: Path | None, pause: float = 0.5) -> subprocess.Popen:
    return subprocess.Popen(
        python_command(PACED_TRAIN, config, str(run_dir) if run_dir else None, pause),
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def signal_after_chunks(proc: subprocess.Popen, chunks: int, signum: int) -> tuple[int, str]:
    """Send `signum` once the child has finished `chunks` chunks; `(exit status, stderr)`."""
    for _ in range(chunks):
        line = proc.stdout.readline()
        assert line == "chunk\n", f"child ended early: {proc.communicate(timeout=60)[1][-3000:]}"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_sigint_saves_although_periodic_checkpoints_are_off(tmp_path):
    config = tiny_config(updates=8, logger={"checkpoint": False})
    status, err = signal_after_chunks(start_run(config, tmp_path), 2, signal.SIGINT)
    assert status == 128 + signal.SIGINT, err[-3000:]
    update = read_metadata(tmp_path / "checkpoint.ckpt")["update"]
    assert 2 <= update < 8  # the signal lands after chunk 2; the next chunk may still run
    assert f"stopped by SIGINT after update {update}" in err
    assert metric_rows(tmp_path)[-1]["update"] == update
    assert all(np.isfinite(v).all() for v in flat_state(tmp_path / "checkpoint.ckpt").values()
               if np.issubdtype(v.dtype, np.floating))


@pytest.mark.slow
def test_killed_and_terminated_run_resumes_to_the_uninterrupted_result(tmp_path):
    config = tiny_config(updates=8)
    reference = start_run(config, tmp_path / "reference", pause=0.0)
    run = tmp_path / "run"

    status, err = signal_after_chunks(start_run(config, run), 2, signal.SIGKILL)
    assert status == -signal.SIGKILL
    killed_at = read_metadata(run / "checkpoint.ckpt")["update"]  # verified: intact
    assert 2 <= killed_at < 8

    status, err = signal_after_chunks(start_run({"resume": str(run)}, None), 1, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, err[-3000:]
    terminated_at = read_metadata(run / "checkpoint.ckpt")["update"]
    assert killed_at < terminated_at < 8
    assert f"stopped by SIGTERM after update {terminated_at}" in err

    finish = start_run({"resume": str(run)}, None, pause=0.0)
    for proc in (finish, reference):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    assert read_metadata(run / "checkpoint.ckpt")["update"] == 8
    state, expected = flat_state(run / "checkpoint.ckpt"), flat_state(
        tmp_path / "reference" / "checkpoint.ckpt"
    )
    assert state.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(state[key], expected[key], err_msg=key)
    assert metric_rows(run) == metric_rows(tmp_path / "reference")


@pytest.mark.slow
def test_non_finite_update_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    # one gradient step per update: update 1 is computed with the initial parameters
    config = tiny_config(updates=4, algo={"learning_rate": 1e15, "num_minibatches": 1})
    proc = start_run(config, tmp_path, pause=0.0)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    message = err.strip().splitlines()[-1]
    assert message.startswith("agents.common.faults.NonFiniteError: non-finite "), message
    assert "at update 2 (seed 0)" in message
    assert read_metadata(tmp_path / "checkpoint.ckpt")["update"] == 1
    assert [r["update"] for r in metric_rows(tmp_path)] == [1]
    state = flat_state(tmp_path / "checkpoint.ckpt")
    assert all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")
