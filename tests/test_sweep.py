"""Hyper-parameter sweeps in one program: each member of a swept run is exactly the control it
claims to be, the plain run with that member's hyper-parameters and seed, and a swept run
logs, checkpoints, plots and loads per member."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from run_harness import tiny_config

from agents.common.run_dir import RunDir
from agents.common.sweep import grid_points, member_configs, member_labels
from agents.common.trainer import seed_keys
from agents.common.training import make_trainer, run_training, train_seeds
from agents.policy import load_policy
from agents.ppo.config import TrainPPOConfig

GRID = {"learning_rate": [3e-3, 3e-4], "ent_coef": [0.0, 0.05]}


def test_grid_is_the_product_point_major_then_seed():
    config = {"num_seeds": 2, "algo": {"learning_rate": 1.0, "ent_coef": 9.0},
              "sweep": {**GRID, "vf_coef": []}}
    assert grid_points(config) == [
        {"learning_rate": 3e-3, "ent_coef": 0.0}, {"learning_rate": 3e-3, "ent_coef": 0.05},
        {"learning_rate": 3e-4, "ent_coef": 0.0}, {"learning_rate": 3e-4, "ent_coef": 0.05}]
    labels = member_labels(config)
    assert len(labels) == 8
    assert labels[:3] == ["learning_rate=0.003,ent_coef=0,seed_0",
                          "learning_rate=0.003,ent_coef=0,seed_1",
                          "learning_rate=0.003,ent_coef=0.05,seed_0"]
    members = member_configs(config)
    assert [m["algo"]["ent_coef"] for m in members] == [0.0, 0.0, 0.05, 0.05] * 2
    assert [m["seed_index"] for m in members] == [0, 1] * 4
    assert all(m["sweep"] == {"learning_rate": [], "ent_coef": [], "vf_coef": []}
               for m in members)
    assert member_labels({"num_seeds": 3}) == ["seed_0", "seed_1", "seed_2"]


def _metrics_and_params(config: dict):
    trainer = make_trainer(TrainPPOConfig.from_dict(config))
    state, metrics = train_seeds(trainer, seed_keys(trainer.config), per_chunk=2)
    return metrics, state.params


def test_each_member_is_the_plain_run_with_its_hyperparameters():
    base = tiny_config(updates=4, algo={"anneal_lr": True})
    swept_metrics, swept_params = _metrics_and_params({**base, "sweep": GRID})
    assert swept_metrics["loss/total"].shape == (4, 4)
    points = grid_points({"sweep": GRID})
    for m in (0, 3):  # the corners, which differ in every swept value (one compile each)
        point = points[m]
        plain = {**base, "algo": {**base["algo"], **point}}
        metrics, params = _metrics_and_params(plain)
        for name in ("loss/total", "loss/entropy", "episode/return", "params/norm"):
            np.testing.assert_allclose(swept_metrics[name][m], metrics[name][0], rtol=2e-5,
                                       atol=1e-6, err_msg=f"{name} of member {m} {point}")
        for a, b in zip(jax.tree.leaves(swept_params), jax.tree.leaves(params), strict=True):
            np.testing.assert_allclose(np.asarray(a)[m], np.asarray(b)[0], rtol=1e-4,
                                       atol=1e-6)
    # the points differ: a sweep is not four copies of one run
    assert len({float(swept_metrics["loss/total"][m, -1]) for m in range(4)}) == 4
    assert swept_metrics["params/norm"][0, -1] != swept_metrics["params/norm"][2, -1]  # lr


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    config = {**tiny_config(updates=2, num_seeds=2), "sweep": {"learning_rate": [3e-3, 3e-4]}}
    return run_training(TrainPPOConfig.from_dict(config),
                        tmp_path_factory.mktemp("sweep") / "run")


def test_a_swept_run_logs_and_loads_every_member(sweep_run):
    run = RunDir(sweep_run)
    rows = run.read_metrics()
    assert [r["update"] for r in rows] == [1, 2]
    assert all(len(r["metrics"]["loss/total"]) == 4 for r in rows)
    config = TrainPPOConfig.from_dict(run.read_config())
    assert config.member_labels()[3] == "learning_rate=0.0003,seed_1"
    policy = load_policy(sweep_run, seed_index=3)
    assert policy.done == 2
    with pytest.raises(ValueError, match="seed_index=4 is out of range: the run trained 4 member"):
        load_policy(sweep_run, seed_index=4)
