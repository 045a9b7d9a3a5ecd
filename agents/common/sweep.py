"""Hyper-parameter grids trained in one compiled program: the members of a run.

A run's state has one leading axis of *members*. A config's `sweep` section lists values for
some hyper-parameters of its `algo` section (e.g. `sweep.learning_rate=[1e-3,3e-4]`); the grid
is the cartesian product of those lists (unlisted ones keep the `algo` value), and every grid
point trains every seed: member `m = point * num_seeds + seed`, so seed `s` starts from the same
key at every point (common random numbers). Without a sweep the members are the seeds.

The trainer keeps a member's hyper-parameters in its state as traced scalars, so the grid is
one `vmap` of one program (`RecurrentPPO.init(key, hparams)`), and every member's metrics are
logged under its label (TensorBoard `tb/<label>/`, W&B `<name>/<label>`; metrics.jsonl rows
hold one value per member in member order). `member_configs` gives each member's effective
config, which `agents.common.plotting` groups by.

These functions work on the config as a nested dict (what config.yaml stores), so readers of
a run directory need no trainer.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

SWEPT_SECTION = "algo"  # the section whose keys a sweep lists values for


def swept_keys(config: dict[str, Any]) -> list[str]:
    """Names in the `sweep` section with at least one value listed, in schema order."""
    return [k for k, values in (config.get("sweep") or {}).items() if values]


def grid_points(config: dict[str, Any]) -> list[dict[str, float]]:
    """The grid's points: `{name: value}` of the swept names (one empty point if none)."""
    keys = swept_keys(config)
    sweep = config.get("sweep") or {}
    return [dict(zip(keys, values, strict=True))
            for values in itertools.product(*(sweep[k] for k in keys))]


def member_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One effective config per member (point-major, then seed): the point's values written
    into `algo`, the sweep emptied, `num_seeds` 1 and `seed_index` set."""
    members = []
    for point in grid_points(config):
        for seed_index in range(config.get("num_seeds", 1)):
            member = copy.deepcopy(config)
            member[SWEPT_SECTION].update(point)
            member["sweep"] = {k: [] for k in member.get("sweep") or {}}
            member["num_seeds"], member["seed_index"] = 1, seed_index
            members.append(member)
    return members


def member_labels(config: dict[str, Any]) -> list[str]:
    """`seed_<s>` per member, prefixed with the point's `name=value,` pairs when sweeping."""
    return [",".join([*(f"{k}={v:g}" for k, v in point.items()), f"seed_{s}"])
            for point in grid_points(config) for s in range(config.get("num_seeds", 1))]
