"""The benchmark library against hand-computed values: sizing, curve statistics, slopes and
crossovers, the length study's stopping rule, the device study's workloads, the study settings."""

from __future__ import annotations

import importlib.util
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from run_harness import REPO

from benchmarks.curves import returns_curve, segment_means, steps_to_reach
from benchmarks.device_scaling import PPOWorkload
from benchmarks.length_scaling import MODEL_SPECS as LENGTH_MODELS
from benchmarks.length_scaling import Limits, Series, crossover, loglog_slope, run_series
from benchmarks.timing import compiled_footprint, timed_compile
from benchmarks.world_model_study import StudySettings
from ssm_rl import count_parameters, make_memory
from ssm_rl.params import closest_width, memory_parameter_count


def test_count_parameters_counts_scalars_complex_once():
    tree = {"a": jnp.zeros((3, 4)), "b": [jnp.zeros(5, jnp.complex64)],
            "c": jax.ShapeDtypeStruct((2, 2), jnp.float32)}
    assert count_parameters(tree) == 12 + 5 + 4


@pytest.mark.parametrize("name,options", [("s5", {"state_size": 8, "num_layers": 2}),
                                          ("gru", {})])
def test_memory_parameter_count_matches_an_initialised_memory(name, options):
    memory = make_memory(name, d_model=16, **options)
    carry = memory.initialize_carry((3,))
    params = memory.init(jax.random.key(1), carry, jnp.ones((4, 3, 7)), jnp.zeros((4, 3), bool))
    assert memory_parameter_count(memory, 7) == count_parameters(params) > 0


@pytest.mark.parametrize("target", [1, 50, 999, 20_000, 123_456, 10**9])
def test_closest_width_is_the_brute_force_argmin(target):
    def count(width):
        return 3 * width * width + 5 * width

    widths = range(8, 513, 8)
    expected = min(widths, key=lambda w: abs(count(w) - target))  # first (smallest) on a tie
    assert closest_width(count, target, 8, 512) == expected


def test_returns_curve_segments_and_threshold_by_hand():
    metrics = {"episode/count": np.array([[0, 1, 1, 1, 1], [1, 1, 0, 1, 1]]),
               "episode/return": np.array([[9.0, 1, 2, 3, 4], [0.0, 0, 7, 1, 1]])}
    curve = returns_curve(metrics, steps_per_iteration=10)
    assert curve["env_steps"] == [10, 20, 30, 40, 50]
    assert math.isnan(curve["return_per_seed"][0][0]) and math.isnan(curve["return_per_seed"][1][2])
    assert curve["final_return_per_seed"] == [4.0, 1.0]  # the last fifth: one iteration
    assert curve["final_return"] == 2.5
    steps, means = segment_means(curve, bins=2)  # segments: iterations [0, 2) and [2, 5)
    np.testing.assert_array_equal(steps, [20, 50])
    np.testing.assert_allclose(means, [[1.0, 3.0], [0.0, 1.0]])
    assert steps_to_reach(curve, 2.5, bins=2) == [50, None]
    assert steps_to_reach(curve, 0.0, bins=2) == [20, 20]


def _records(model, times):
    return [{"model": model, "batch": 1, "mode": "forward", "status": "ok", "length": t,
             "time_s": s} for t, s in times.items()]


def test_loglog_slope_and_crossover_of_power_laws():
    lengths = [16, 32, 64, 128, 256]
    assert loglog_slope(lengths, [t**2 for t in lengths]) == pytest.approx(2.0)
    assert loglog_slope([16], [1.0]) is None
    # model ~ T, reference ~ T^2 / 64: equal at T = 64, the model faster above it.
    records = _records("s5", {t: t for t in lengths}) + _records(
        "transformer", {t: t * t / 64 for t in [16, 32, 128, 256]})
    found = crossover(records, "s5", "transformer", 1, "forward")
    assert found["length"] == pytest.approx(64.0)
    slower = crossover(_records("s5", {16: 2.0, 32: 4.0}) + _records("t", {16: 1.0, 32: 1.0}),
                       "s5", "t", 1, "forward")
    assert slower["length"] is None and "t faster" in slower["text"]


def test_compiled_footprint_counts_argument_and_output():
    compiled, _ = timed_compile(lambda x: x * 2.0, jnp.ones(1000, jnp.float32))
    assert compiled_footprint(compiled) >= 2 * 4000


def test_run_series_stops_a_mode_at_its_first_out_of_memory():
    spec = LENGTH_MODELS["gru"]
    series = Series("gru", spec, {"d_model": 8}, parameters=0)
    records = run_series(series, 2, [4, 8, 16], Limits(30.0, 1, 1), log=lambda _: None)
    assert [r["status"] for r in records] == ["oom", "oom", "skipped", "skipped", "skipped",
                                              "skipped"]
    measured = run_series(series, 2, [4, 8], Limits(30.0, 2**30, 2), log=lambda _: None)
    assert all(r["status"] == "ok" and r["time_s"] > 0 and len(r["times_s"]) == 2
               for r in measured)


def test_ppo_workload_scales_environments_and_sizes_the_state():
    from agents.ppo.config import TrainPPOConfig

    workload = PPOWorkload(model="s5", d_model=16, envs=8, steps=4, minibatches=2, updates=3)
    strong, weak = workload.config(4, "strong"), workload.config(4, "weak")
    assert strong["algo"]["num_envs"] == 8 and weak["algo"]["num_envs"] == 32
    assert weak["algo"]["total_timesteps"] == 32 * 4 * 3
    assert strong["model"]["state_size"] == 16
    assert "state_size" not in PPOWorkload(model="gru").config(1, "strong")["model"]
    TrainPPOConfig.from_dict(weak).validate(env_known=True)


def test_study_settings_defaults_are_the_command_line_defaults():
    spec = importlib.util.spec_from_file_location("eval_wm", REPO / "scripts" / "eval_wm.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.parse_settings([]) == StudySettings()
    parsed = script.parse_settings(["--backbones", "--agent-envs", "MemoryChain", "--quick"])
    assert parsed.backbones == [] and parsed.agent_envs == ["MemoryChain"]
    assert parsed.train_steps == 20 and parsed.horizons == [4, 8]  # --quick applied
    with pytest.raises(ValueError, match="unknown backbone"):
        StudySettings(backbones=["s6"])
