"""Host-side logging between jitted chunks: metrics.jsonl, TensorBoard scalars, a progress bar.

Scalars come per member (a seed, or a seed at a point of a hyper-parameter grid,
agents.common.sweep): `{name: array[num_members]}`. NaN means "no value" (e.g. no episode ended
during that update): it is written as `null` to metrics.jsonl and skipped in TensorBoard.
Each member gets its own TensorBoard directory (`tb/<label>`, e.g. `tb/seed_0`) so curves
overlay by member.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.common.run_dir import RunDir


class RunLogger:
    """Writes per-member scalars at integer steps and advances a progress bar over `total`.

    Args:
      run_dir: where metrics.jsonl and tb/ live.
      labels: one name per member (`RunConfig.member_labels`); every scalar array has their
        length.
      total: progress-bar total (e.g. env steps per seed); `initial` where it starts (resume).
      step_key: name of the step field in metrics.jsonl rows (e.g. "update").
      tensorboard, progress_bar: switch those outputs on or off.
      enabled: False writes nothing at all (processes other than 0 of a multi-host run).
      wandb: `wandb.init` keywords to also log to Weights & Biases (each scalar's mean over
        members as `<name>`, and `<name>/<label>` when there are several); None: off.
    """

    def __init__(
        self,
        run_dir: RunDir,
        labels: list[str],
        total: int,
        initial: int = 0,
        *,
        step_key: str = "update",
        unit: str = "step",
        tensorboard: bool = True,
        progress_bar: bool = True,
        purge_step: int | None = None,
        enabled: bool = True,
        wandb: dict[str, Any] | None = None,
    ):
        self.run_dir = run_dir
        self.labels = list(labels)
        self.step_key = step_key
        self.enabled = enabled
        self._tensorboard = tensorboard and enabled
        self._purge_step = purge_step
        self._metrics = None  # files are opened at the first row: a run that fails before
        self._writers: list[Any] = []  # its first chunk leaves nothing behind
        self._wandb_options = wandb if enabled else None
        self._wandb: Any = None
        self._bar = None
        if progress_bar and enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit=unit, unit_scale=True,
                             dynamic_ncols=True)

    def log(self, step: int, scalars: dict[str, Any], fields: dict[str, Any] | None = None,
            tb_step: int | None = None) -> None:
        """One row: `scalars` `{name: [num_members]}` plus plain `fields` (e.g. env_steps).

        TensorBoard uses `tb_step` as x (default `step`).
        """
        if self._metrics is None:
            self._open()
        per_seed = {k: np.broadcast_to(np.asarray(v, np.float64), (len(self.labels),))
                    for k, v in scalars.items()}
        row = {self.step_key: int(step), **(fields or {}), "time": time.time()}
        row["metrics"] = {k: [None if math.isnan(x) else float(x) for x in v]
                          for k, v in per_seed.items()}
        self._metrics.write(json.dumps(row) + "\n")
        x = int(step if tb_step is None else tb_step)
        if self._wandb is not None:
            logged = {}
            for name, values in per_seed.items():
                if np.isfinite(values).any():
                    logged[name] = float(np.nanmean(values))
                if len(self.labels) > 1:
                    logged.update({f"{name}/{label}": float(v)
                                   for label, v in zip(self.labels, values, strict=True)
                                   if not math.isnan(v)})
            self._wandb.log(logged, step=x)
        for seed, writer in enumerate(self._writers):
            for name, values in per_seed.items():
                if not math.isnan(values[seed]):
                    writer.add_scalar(name, values[seed], x)

    def _open(self) -> None:
        if not self.enabled:
            self._metrics = Path(os.devnull).open("a")  # noqa: SIM115 (closed in close())
            return
        self.run_dir.path.mkdir(parents=True, exist_ok=True)
        self._metrics = self.run_dir.metrics_path.open("a")  # noqa: SIM115 (closed in close())
        if self._wandb_options is not None:
            import wandb

            self._wandb = wandb.init(**self._wandb_options)
        if self._tensorboard:
            from tensorboardX import SummaryWriter

            self._writers = [
                SummaryWriter(str(self.run_dir.tensorboard_dir(label)),
                              purge_step=self._purge_step)
                for label in self.labels
            ]

    def advance(self, amount: int, postfix: dict[str, Any] | None = None) -> None:
        """Move the progress bar by `amount` and show `postfix` (e.g. return, SPS)."""
        self.flush()
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(amount)

    def flush(self) -> None:
        if self._metrics is None:
            return
        self._metrics.flush()
        for writer in self._writers:
            writer.flush()

    def close(self) -> None:
        self.flush()
        if self._metrics is not None:
            self._metrics.close()
        for writer in self._writers:
            writer.close()
        if self._wandb is not None:
            self._wandb.finish()
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
