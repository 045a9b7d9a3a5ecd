"""Bad inputs across the public API get a ValueError/TypeError that names the argument.

Cases tried (every memory in the registry for the layer rows; shapes `x[T=4, B=3, D=8]`):

| API                                  | bad input                                  | error      |
|--------------------------------------|--------------------------------------------|------------|
| make_memory                          | unknown name ("s6", 5)                      | ValueError |
| make_memory                          | d_model -4 / 0 / 8.5 / "8", num_layers -1   | ValueError |
| make_memory                          | state_size -2 (s5, lru), unknown option     | ValueError |
| memory.initialize_carry              | batch_shape (-1,)                           | ValueError |
| memory.initialize_carry              | batch_shape 3, (2.5,)                       | TypeError  |
| memory.apply (sequence)              | x width 5 != the parameters' width 8        | ValueError |
| memory.apply (sequence)              | x of rank 1                                 | ValueError |
| memory.apply (sequence / step)       | x int32 or bool                             | TypeError  |
| memory.apply (sequence)              | reset [T-1, B], [T, B-1]                    | ValueError |
| memory.apply (sequence / step)       | reset float32 or int32                      | TypeError  |
| memory.apply (step)                  | reset [B+1]                                 | ValueError |
| memory.apply                         | carry for another batch size                | ValueError |
| resettable_scan                      | reset [T-1, B], h0 [B, P+1], backend "foo"  | ValueError |
| resettable_step                      | reset [B-1], h [B, P+1]                     | ValueError |
| envs.registry.make / suite           | unknown id / suite (closest ids suggested)  | ValueError |
| PPO config (from_dict + validate)    | unknown key, section not a mapping          | Value/Type |
| PPO config                           | num_envs -8 / 0, wrong types, gamma 1.5     | Value/Type |
| PPO config                           | num_minibatches not dividing num_envs       | ValueError |
| DistributedConfig (initialize)       | num_processes -1, process_id 2 of 2         | ValueError |
| DistributedConfig (initialize)       | num_processes "2", $JAX_NUM_PROCESSES="two" | Type/Value |
| distributed.check_divides            | 6 environments over 4 devices               | ValueError |
| distributed.env_shardings            | a per-env field the state does not have     | ValueError |
| RunDir.read_config (resume)          | a directory that is not a run               | ValueError |

Damaged and incompatible checkpoints are in tests/test_faults.py.
Layer cases are traced with `jax.eval_shape` (no compilation): the checks run at trace time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents.common.distributed import (
    DistributedConfig,
    check_divides,
    data_mesh,
    env_shardings,
    initialize,
)
from agents.common.run_dir import RunDir
from agents.ppo.config import TrainPPOConfig
from envs import registry
from ssm_rl import available_memories, make_memory, resettable_scan, resettable_step

T, B, D = 4, 3, 8
X = jnp.ones((T, B, D), jnp.float32)
RESET = jnp.zeros((T, B), bool)
SMALL = {"s5": {"state_size": 8}, "s5_ptd": {"state_size": 8}, "lru": {"state_size": 8},
         "s4d": {"state_size": 8}, "transformer": {"num_heads": 2, "window": 4}}


@pytest.fixture(scope="module", params=available_memories())
def memory(request):
    """`(memory, abstract params, carry)` for each registered memory, d_model 8."""
    m = make_memory(request.param, d_model=D, num_layers=1, **SMALL.get(request.param, {}))
    carry = m.initialize_carry((B,))
    params = jax.eval_shape(m.init, jax.random.key(0), carry, X, RESET)
    return m, params, carry


def trace(m, params, carry, x, reset, method="__call__"):
    return jax.eval_shape(lambda p: m.apply(p, carry, x, reset, method=method), params)


@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        ("width", ValueError, r"x .*width 5"),
        ("rank1", ValueError, r"x must be \[T, \*batch, D\]"),
        ("x_int", TypeError, "x must be a floating-point array, got dtype int32"),
        ("x_bool", TypeError, "x must be a floating-point array, got dtype bool"),
        ("reset_short_time", ValueError, r"reset must have shape \[T, \*batch\] = \(4, 3\)"),
        ("reset_short_batch", ValueError, r"reset must have shape .* got \(4, 2\)"),
        ("reset_float", TypeError, "reset must be a bool array.*float32"),
        ("reset_int", TypeError, "reset must be a bool array.*int32"),
        ("step_reset_long", ValueError, r"reset must have shape \[\*batch\] = \(3,\)"),
        ("step_x_int", TypeError, "x must be a floating-point array"),
        ("step_reset_float", TypeError, "reset must be a bool array"),
        ("carry_other_batch", ValueError, "carry does not match initialize_carry"),
    ],
)
def test_layer_inputs(memory, case, error, match):
    m, params, carry = memory
    calls = {
        "width": lambda: trace(m, params, carry, jnp.ones((T, B, 5)), RESET),
        "rank1": lambda: trace(m, params, carry, X[0, 0], RESET[0, 0]),
        "x_int": lambda: trace(m, params, carry, X.astype(jnp.int32), RESET),
        "x_bool": lambda: trace(m, params, carry, X > 0, RESET),
        "reset_short_time": lambda: trace(m, params, carry, X, RESET[:-1]),
        "reset_short_batch": lambda: trace(m, params, carry, X, RESET[:, :-1]),
        "reset_float": lambda: trace(m, params, carry, X, RESET.astype(jnp.float32)),
        "reset_int": lambda: trace(m, params, carry, X, RESET.astype(jnp.int32)),
        "step_reset_long": lambda: trace(m, params, carry, X[0], jnp.zeros((B + 1,), bool),
                                         "step"),
        "step_x_int": lambda: trace(m, params, carry, X[0].astype(jnp.int32), RESET[0], "step"),
        "step_reset_float": lambda: trace(m, params, carry, X[0], RESET[0].astype(float), "step"),
        "carry_other_batch": lambda: trace(m, params, m.initialize_carry((B + 1,)), X, RESET),
    }
    with pytest.raises(error, match=match):
        calls[case]()


def test_good_inputs_trace(memory):
    """The reference for the cases above: the same calls with valid inputs go through."""
    m, params, carry = memory
    _, y = trace(m, params, carry, X, RESET)
    assert y.shape == (T, B, D)
    _, y = trace(m, params, carry, X[0], RESET[0], "step")
    assert y.shape == (B, D)


@pytest.mark.parametrize(
    ("batch_shape", "error", "match"),
    [((-1,), ValueError, r"batch_shape must not hold negative sizes, got \(-1,\)"),
     (3, TypeError, "batch_shape must be a tuple of ints, e.g. .*, got 3"),
     ((2.5,), TypeError, r"batch_shape must be a tuple of ints.*\(2.5,\)")],
)
def test_initialize_carry_batch_shape(batch_shape, error, match):
    with pytest.raises(error, match=match):
        make_memory("gru", d_model=4).initialize_carry(batch_shape)


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("s6", {}, "unknown memory 's6'.*available"),
        (5, {}, "unknown memory 5"),
        ("s5", {"d_model": -4}, "d_model must be a positive integer, got -4"),
        ("gru", {"d_model": 0}, "d_model must be a positive integer, got 0"),
        ("lru", {"d_model": 8.5}, "d_model must be a positive integer, got 8.5"),
        ("mamba", {"d_model": "8"}, "d_model must be a positive integer, got '8'"),
        ("lstm", {"num_layers": -1}, "num_layers must be a positive integer, got -1"),
        ("s5", {"state_size": -2}, "state_size must be a positive integer, got -2"),
        ("lru", {"state_size": 0}, "state_size must be a positive integer, got 0"),
        ("s5", {"bogus": 1}, r"unknown option\(s\) \['bogus'\] for memory 's5'"),
    ],
)
def test_make_memory_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_memory(name, **options)


def test_scan_shapes_and_backend():
    a, b = jnp.full((T, B, 4), 0.5), jnp.ones((T, B, 4))
    with pytest.raises(ValueError, match=r"reset must have shape \[T, \*batch\] = \(4, 3\)"):
        resettable_scan(a, b, RESET[:-1])
    with pytest.raises(ValueError, match=r"h0 must have shape \[\*batch, P\] = \(3, 4\)"):
        resettable_scan(a, b, RESET, jnp.zeros((B, 5)))
    with pytest.raises(ValueError, match="unknown scan backend 'foo'"):
        resettable_scan(a, b, RESET, backend="foo")
    with pytest.raises(ValueError, match=r"reset must have shape \[\*batch\] = \(3,\)"):
        resettable_step(a[0], b[0], RESET[0, :-1], jnp.zeros((B, 4)))
    with pytest.raises(ValueError, match=r"h must have shape \[\*batch, P\] = \(3, 4\)"):
        resettable_step(a[0], b[0], RESET[0], jnp.zeros((B, 5)))
    np.testing.assert_allclose(resettable_step(a[0], b[0], RESET[0], jnp.ones((B, 4))), 1.5)


def test_unknown_env_names():
    with pytest.raises(ValueError, match="Unknown env id 'CountRecalHard'.*'CountRecallHard'"):
        registry.make("CountRecalHard")
    with pytest.raises(ValueError, match="Unknown suite 'popgim'"):
        registry.suite("popgim")


def _validate(config: dict) -> None:
    TrainPPOConfig.from_dict(config).validate()


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        ({"sead": 1}, ValueError, r"unknown config key\(s\) \['sead'\]"),
        ({"algo": {"lr": 1e-3}}, ValueError, r"unknown config key\(s\) \['algo.lr'\]"),
        ({"algo": 5}, TypeError, "algo must be a mapping"),
        ({"algo": {"num_envs": -8}}, ValueError, "algo.num_envs=-8 must be a positive integer"),
        ({"algo": {"num_steps": 0}}, ValueError, "algo.num_steps=0 must be a positive integer"),
        ({"num_seeds": 0}, ValueError, "num_seeds=0 must be a positive integer"),
        ({"algo": {"num_envs": "8"}}, TypeError, "algo.num_envs='8' must be of type int"),
        ({"algo": {"learning_rate": "fast"}}, TypeError, "algo.learning_rate='fast'"),
        ({"algo": {"gamma": None}}, TypeError, "algo.gamma=None must be of type float"),
        ({"deterministic": "yes"}, TypeError, "deterministic='yes' must be of type bool"),
        ({"algo": {"learning_rate": -1.0}}, ValueError, "algo.learning_rate=-1.0 must be > 0"),
        ({"algo": {"gamma": 1.5}}, ValueError, r"algo.gamma=1.5 must lie in \[0.0, 1.0\]"),
        ({"sweep": {"learning_rate": [1e-3, -1.0]}}, ValueError,
         r"sweep.learning_rate=-1.0 must be > 0"),
        ({"sweep": {"gae_lambda": [0.9, 1.2]}}, ValueError,
         r"sweep.gae_lambda=1.2 must lie in \[0.0, 1.0\]"),
        ({"sweep": {"ent_coef": [0.0, 0.0]}}, ValueError, r"sweep.ent_coef=\[0.0, 0.0\] lists a"),
        ({"sweep": {"ent_coef": 0.01}}, TypeError, r"sweep.ent_coef=0.01 must be of type list"),
        ({"sweep": {"gamma": [0.9]}}, ValueError, r"unknown config key\(s\) \['sweep.gamma'\]"),
        ({"algo": {"num_envs": 6, "num_minibatches": 4}}, ValueError,
         r"algo.num_minibatches=4 must divide algo.num_envs=6 .* allowed: \[1, 2, 3, 6\]"),
        ({"env": {"id": "RepeatPreviousEasyy"}}, ValueError, "env.id='RepeatPreviousEasyy'"),
        ({"env": {"options": {"foo": 1}}}, ValueError,
         r"env.options=\{'foo': 1\} do not fit env 'RepeatPreviousEasy'; its options: \[\]"),
        ({"env": {"suite": "meta", "id": "MetaGymnax-train", "options": {"episodes": 2}}},
         ValueError, r"do not fit env 'MetaGymnax-train'; its options: \[.*'episodes_per_trial'"),
        ({"model": {"name": "gru", "d_model": -1}}, ValueError, "d_model must be a positive"),
        ({"distributed": {"enable": True}}, ValueError, r"\['distributed.enable'\]"),
    ],
)
def test_ppo_config(config, error, match):
    with pytest.raises(error, match=match):
        _validate(config)


@pytest.mark.parametrize(
    ("fields", "env", "error", "match"),
    [
        ({"num_processes": -1, "process_id": 0}, {}, ValueError,
         "distributed.num_processes=-1 must be >= 1"),
        ({"num_processes": 2, "process_id": 2}, {}, ValueError,
         r"distributed.process_id=2 must lie in \[0, num_processes=2\)"),
        ({"num_processes": "2", "process_id": 0}, {}, TypeError,
         "distributed.num_processes must be an int or None, got '2'"),
        ({"process_id": 0}, {"JAX_NUM_PROCESSES": "two"}, ValueError,
         "JAX_NUM_PROCESSES='two' is not an integer"),
    ],
)
def test_distributed_config(monkeypatch, fields, env, error, match):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = DistributedConfig(enabled=True, coordinator_address="localhost:1", **fields)
    with pytest.raises(error, match=match):
        initialize(config)


def test_batch_must_divide_over_the_mesh():
    mesh = data_mesh(jax.devices()[:1])
    check_divides("algo.num_envs", 6, mesh)  # anything divides over one device
    fake = type("FakeMesh", (), {"shape": {"data": 4}})()
    with pytest.raises(ValueError, match=r"algo.num_envs=6 does not divide over 4 devices.*"
                                         r"\(e.g. 4 or 8\)"):
        check_divides("algo.num_envs", 6, fake)
    state = {"obs": np.zeros((1, 6, 2)), "params": np.zeros(3)}
    with pytest.raises(ValueError, match=r"per-environment fields \['carry'\]"):
        env_shardings(state, mesh, ["obs", "carry"])


def test_resume_from_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(ValueError, match="is not a run directory: no config.yaml"):
        RunDir(tmp_path).read_config()
