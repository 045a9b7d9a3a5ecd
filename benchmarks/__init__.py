"""Benchmark library: the measurement, analysis and report code behind `scripts/bench_*.py`
and `scripts/eval_wm.py`, importable and tested.

A package of its own rather than part of `ssm_rl` or `agents`: its studies sit above both
(the length study sizes `ssm_rl` memories, the device study times the agents' trainer), and a
user who imports the layer library should not pull in matplotlib or the agents.

- `timing`: compile / call timers, compiled-memory footprint, results files.
- `length_scaling`: time and memory of every memory model against the sequence length.
- `device_scaling`: data-parallel PPO env-steps/s against the device count.
- `curves`: statistics of learning curves (final return, segment means, steps to a threshold).
- `world_model_study`: world-model prediction after a context, and the agent-vs-PPO comparison.
"""
