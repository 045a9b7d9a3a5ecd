"""Kept checkpoints: the last N and the best, against the scores and states that were saved.

The unit test feeds a score sequence with a NaN (no episode ended) and a resume; the run test
trains a tiny PPO run with `keep_last=2` and checks the files against its metrics.jsonl, then
resumes it to the uninterrupted result and loads the best policy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from run_harness import flat_state, tiny_config

from agents.common.checkpoint import read_metadata
from agents.common.kept_checkpoints import SCORE_KEY, CheckpointKeeper
from agents.common.run_dir import RunDir
from agents.common.training import config_class, run_training
from agents.policy import load_policy


def state_of(count: int) -> dict:
    return {"w": np.full((3,), float(count), np.float32)}


def test_keeper_keeps_the_last_n_and_the_best(tmp_path):
    run = RunDir(tmp_path)
    keeper = CheckpointKeeper(run, "update", keep_last=3)
    scores = [0.1, math.nan, 0.5, 0.3, 0.2]
    for count, score in enumerate(scores, start=1):
        keeper.save(state_of(count), {"update": count}, score)

    kept = sorted(p.name for p in run.history_dir.iterdir())
    assert kept == ["update_000003.ckpt", "update_000004.ckpt", "update_000005.ckpt"]
    for name in kept:
        count = int(name[7:13])
        assert read_metadata(run.history_dir / name)["update"] == count
        np.testing.assert_array_equal(flat_state(run.history_dir / name)["/w"], count)
    best = read_metadata(run.best_path)
    assert best["update"] == 3 and best[SCORE_KEY] == 0.5
    np.testing.assert_array_equal(flat_state(run.best_path)["/w"], 3.0)
    assert read_metadata(run.checkpoint_path)["update"] == 5
    assert read_metadata(run.history_dir / "update_000004.ckpt")[SCORE_KEY] == 0.3
    assert read_metadata(RunDir(tmp_path).history_dir / "update_000005.ckpt")["update"] == 5

    resumed = CheckpointKeeper(run, "update", keep_last=3)  # a resumed run knows the best
    assert resumed.best_score == 0.5
    resumed.save(state_of(6), {"update": 6}, 0.4)
    assert read_metadata(run.best_path)["update"] == 3
    resumed.save(state_of(7), {"update": 7}, 0.9)
    assert read_metadata(run.best_path)["update"] == 7
    assert len(list(run.history_dir.iterdir())) == 3


def test_keep_last_one_writes_no_history(tmp_path):
    run = RunDir(tmp_path)
    keeper = CheckpointKeeper(run, "update", keep_last=1, keep_best=False)
    keeper.save(state_of(1), {"update": 1}, 1.0)
    assert not run.history_dir.exists() and not run.best_path.exists()


def _train(config: dict, run_dir):
    return run_training(config_class(config).from_dict(config), run_dir)


def _chunk_scores(run_dir) -> dict[int, float]:
    """update -> mean episode return over seeds (one update per chunk), NaN where none."""
    scores = {}
    for row in RunDir(run_dir).read_metrics():
        values = [v for v in row["metrics"]["episode/return"] if v is not None]
        scores[row["update"]] = float(np.mean(values)) if values else math.nan
    return scores


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    config = tiny_config(updates=5, num_seeds=2, logger={"keep_last": 2},  # 32-step rollouts:
                         algo={"num_steps": 32, "total_timesteps": 8 * 32 * 5})  # episodes end
    return config, _train(config, tmp_path_factory.mktemp("kept") / "full")


def test_run_keeps_its_last_two_and_its_best_chunk(full_run):
    _, full = full_run
    run = RunDir(full)
    assert sorted(p.name for p in run.history_dir.iterdir()) == [
        "update_000004.ckpt", "update_000005.ckpt"]
    latest = flat_state(run.checkpoint_path)
    kept = flat_state(run.history_dir / "update_000005.ckpt")
    assert kept.keys() == latest.keys()
    for leaf, value in kept.items():
        np.testing.assert_array_equal(value, latest[leaf])
    scores = {u: s for u, s in _chunk_scores(full).items() if math.isfinite(s)}
    assert len(scores) >= 2  # several chunks compete
    best_update = max(scores, key=lambda u: (scores[u], -u))  # the first of equal bests
    meta = read_metadata(run.best_path)
    assert meta["update"] == best_update
    assert meta[SCORE_KEY] == pytest.approx(scores[best_update])
    assert load_policy(full, checkpoint="best").done == best_update


class Stop(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_kept_files(full_run, tmp_path, monkeypatch):
    config, full = full_run
    real_save = CheckpointKeeper.save

    def save_then_stop(self, state, metadata, score):
        path = real_save(self, state, metadata, score)
        if metadata["update"] == 3:
            raise Stop
        return path

    monkeypatch.setattr(CheckpointKeeper, "save", save_then_stop)
    with pytest.raises(Stop):
        _train(config, tmp_path / "stopped")
    monkeypatch.setattr(CheckpointKeeper, "save", real_save)
    resumed = RunDir(_train(dict(config, resume=str(tmp_path / "stopped")), None))

    reference = RunDir(full)
    assert sorted(p.name for p in resumed.history_dir.iterdir()) == sorted(
        p.name for p in reference.history_dir.iterdir())
    for name in ("checkpoint.ckpt", "best.ckpt", "checkpoints/update_000004.ckpt"):
        ours, theirs = flat_state(resumed.path / name), flat_state(reference.path / name)
        for leaf, value in theirs.items():
            np.testing.assert_array_equal(ours[leaf], value)  # bit-identical
    assert read_metadata(resumed.best_path)["update"] == read_metadata(reference.best_path)[
        "update"]


def test_unknown_checkpoint_choice_is_one_line(full_run):
    _, full = full_run
    with pytest.raises(ValueError, match=r"checkpoint='nope' is neither one of \['latest', "):
        load_policy(full, checkpoint="nope")
