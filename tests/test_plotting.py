"""Grouping runs for learning curves: by every differing config key (seeds never split a
group), hand-made run directories with known curves, and the PNG written next to the runs."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
from run_harness import REPO

from agents.common.plotting import differing_keys, group_curves
from agents.common.run_dir import RunDir


def make_run(path, config, returns):
    run = RunDir(path)
    run.write_config(config)
    rows = [{"update": i + 1, "env_steps": 100 * (i + 1), "metrics": {"episode/return": [r]}}
            for i, r in enumerate(returns)]
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def config(seed=0, num_envs=64, lr=1e-3):
    return {"env": {"id": "RepeatPreviousEasy"}, "model": {"name": "s5"}, "seed": seed,
            "algo": {"num_envs": num_envs, "learning_rate": lr},
            "logger": {"tensorboard": seed == 0}}


def test_differing_keys_skip_seeds_and_bookkeeping():
    assert differing_keys([config(0), config(1)]) == []
    assert differing_keys([config(0), config(1, num_envs=8)]) == ["algo.num_envs"]
    assert differing_keys([config(), {**config(), "extra": 1}]) == ["extra"]


def test_runs_that_differ_only_in_seed_form_one_group(tmp_path):
    runs = [make_run(tmp_path / "a", config(0), [0.0, 1.0, 2.0]),
            make_run(tmp_path / "b", config(1), [2.0, 3.0, 4.0]),
            make_run(tmp_path / "c", config(0, num_envs=8), [5.0, 5.0, 5.0])]
    groups = {g.label: g for g in group_curves(runs, num_points=3)}
    assert set(groups) == {"algo.num_envs=64", "algo.num_envs=8"}
    paper = groups["algo.num_envs=64"]
    np.testing.assert_allclose(paper.x, [100, 200, 300])
    np.testing.assert_allclose(paper.y.mean(axis=0), [1.0, 2.0, 3.0])  # seeds 0 and 1
    assert paper.y.shape == (2, 3)
    alone = group_curves(runs[:2], num_points=3)
    assert [g.label for g in alone] == ["s5 RepeatPreviousEasy"]


def test_a_sweep_run_splits_into_its_grid_points(tmp_path):
    sweep = {**config(), "num_seeds": 2,
             "sweep": {"learning_rate": [1e-3, 3e-4], "ent_coef": []}}
    run = RunDir(tmp_path / "sweep")
    run.write_config(sweep)
    # members: (lr 1e-3, seed 0), (1e-3, seed 1), (3e-4, seed 0), (3e-4, seed 1)
    rows = [{"update": i + 1, "env_steps": 100 * (i + 1),
             "metrics": {"episode/return": [1.0 + i, 3.0 + i, 10.0, None if i == 0 else 12.0]}}
            for i in range(2)]
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    groups = {g.label: g for g in group_curves([run.path], num_points=2)}
    assert set(groups) == {"algo.learning_rate=0.001", "algo.learning_rate=0.0003"}
    np.testing.assert_allclose(groups["algo.learning_rate=0.001"].y, [[1.0, 2.0], [3.0, 4.0]])
    slow = groups["algo.learning_rate=0.0003"]
    assert slow.y.shape == (2, 2) and np.nanmax(slow.y) == 12.0


def test_plot_script_writes_next_to_the_runs(tmp_path):
    runs = [make_run(tmp_path / "day" / name, config(i), [0.0, 1.0])
            for i, name in enumerate(("10-00", "11-00"))]
    spec = importlib.util.spec_from_file_location("plot", REPO / "scripts" / "plot.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = script.main([str(r) for r in runs])
    assert out == (tmp_path / "day" / "curves.png").resolve() and out.stat().st_size > 1000
