"""A training run's directory: its config, checkpoint, metrics log and TensorBoard events.

    <run dir>/config.yaml        the full, resolved training config (written once)
    <run dir>/checkpoint.ckpt    the latest whole train state (agents.common.checkpoint)
    <run dir>/checkpoints/       the last `logger.keep_last` states, `<unit>_<count>.ckpt`
    <run dir>/best.ckpt          the state of the best chunk return so far (`logger.keep_best`)
    <run dir>/metrics.jsonl      one JSON line per logged step (agents.common.run_logger)
    <run dir>/tb/<label>/        TensorBoard event files, one directory per member (seed_<k>)

Hydra chooses the directory (`outputs/<date>/<time>`); this module only fills it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "config.yaml"
CHECKPOINT_FILE = "checkpoint.ckpt"
BEST_FILE = "best.ckpt"
HISTORY_DIR = "checkpoints"
CHECKPOINT_CHOICES = ("latest", "best")
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tb"


class RunDir:
    """Paths and small file operations of one run directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def best_path(self) -> Path:
        return self.path / BEST_FILE

    @property
    def history_dir(self) -> Path:
        return self.path / HISTORY_DIR

    def history_path(self, unit: str, count: int) -> Path:
        """The kept checkpoint after `count` units, e.g. `checkpoints/update_000120.ckpt`."""
        return self.history_dir / f"{unit}_{count:06d}.ckpt"

    def checkpoint_file(self, which: str = "latest") -> Path:
        """The checkpoint `which` names: "latest" (what resume continues), "best", or the
        path of a kept one; ValueError if there is none."""
        if which not in CHECKPOINT_CHOICES:
            path = Path(which)
            if not path.is_file():
                raise ValueError(
                    f"checkpoint={which!r} is neither one of {list(CHECKPOINT_CHOICES)} nor a "
                    "checkpoint file"
                )
            return path
        path = self.best_path if which == "best" else self.checkpoint_path
        if not path.is_file():
            what = "best checkpoint (logger.keep_best)" if which == "best" else "checkpoint yet"
            raise ValueError(f"{str(self.path)!r} has no {what}")
        return path

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    def tensorboard_dir(self, label: str) -> Path:
        """TensorBoard directory of the member `label` (`RunConfig.member_labels`)."""
        return self.path / TENSORBOARD_DIR / label

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def write_config(self, config: dict[str, Any]) -> None:
        """Write `config.yaml`; refuse to overwrite a different config already there."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.config_path.exists():
            existing = self.read_config()
            if existing != config:
                raise ValueError(
                    f"{str(self.path)!r} already holds a run with a different config; "
                    "choose a new run directory or resume it"
                )
            return
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise ValueError(f"{str(self.path)!r} is not a run directory: no {CONFIG_FILE}")
        return yaml.safe_load(self.config_path.read_text())

    def read_metrics(self) -> list[dict[str, Any]]:
        """All rows of `metrics.jsonl` (empty if none)."""
        if not self.metrics_path.is_file():
            return []
        with self.metrics_path.open() as f:
            return [json.loads(line) for line in f if line.strip()]

    def truncate_metrics(self, last_step: int, key: str = "update") -> None:
        """Drop rows with `row[key] > last_step` (written after the checkpoint being resumed)."""
        rows = [r for r in self.read_metrics() if r[key] <= last_step]
        tmp = self.metrics_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.metrics_path)


def restore_run_state(
    run: RunDir,
    target: Any,
    config: dict,
    count_key: str,
    part: str | None = None,
    which: str = "latest",
) -> tuple[Any, int]:
    """`(state, units done)` from `run`'s checkpoint `which` (`RunDir.checkpoint_file`), whose
    structure must match `target` (e.g. freshly initialised states) and whose stored config
    must equal `config`; the count is the checkpoint metadata's `count_key` (e.g. "update").
    `part` restores one top-level field of the state only (e.g. "params", `target` shaped like
    it). Raises `CheckpointError`."""
    from agents.common.checkpoint import CheckpointError, load_checkpoint

    path = run.checkpoint_file(which)
    state, metadata = load_checkpoint(path, target, part)
    if metadata.get("config") != config:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by a different config "
            f"than {str(run.config_path)!r}"
        )
    return state, int(metadata[count_key])

