"""Which checkpoints a run keeps: the latest (for resume), the last N, and the best.

    <run dir>/checkpoint.ckpt                 always the latest state; `resume=` continues it
    <run dir>/checkpoints/<unit>_<n>.ckpt     the `keep_last` most recent ones (keep_last > 1)
    <run dir>/best.ckpt                       the one with the highest score so far (keep_best)

The score is the chunk's mean training episode return (over its updates and seeds); a chunk in
which no episode ended has none and never becomes the best. Every file is a complete checkpoint
(agents.common.checkpoint, integrity-checked) that `load_policy(run_dir, checkpoint=...)`
restores. The history and best entries are hard links to the file just written (no second
write; a copy where the file system has no links): `save_checkpoint` replaces
`checkpoint.ckpt` by a rename, so a linked file keeps the content it was linked with.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from pathlib import Path
from typing import Any

from agents.common.checkpoint import CheckpointError, read_metadata, save_checkpoint
from agents.common.run_dir import RunDir

SCORE_KEY = "score"  # checkpoint metadata: the chunk's mean training return (None: no episode)


class CheckpointKeeper:
    """Writes a run's checkpoints and prunes the kept ones.

    `unit` names the count in file names and metadata ("update", "iteration"); `keep_last`
    (>= 1) is how many recent checkpoints stay (1: `checkpoint.ckpt` only); `keep_best` keeps
    `best.ckpt`. A resumed run picks up the best score from the `best.ckpt` already there.
    """

    def __init__(self, run: RunDir, unit: str, *, keep_last: int = 1, keep_best: bool = True):
        self.run = run
        self.unit = unit
        self.keep_last = keep_last
        self.keep_best = keep_best
        self.best_score = -math.inf
        if keep_best and run.best_path.is_file():
            # an unreadable best.ckpt is replaced by the next scored checkpoint
            with contextlib.suppress(CheckpointError, KeyError, TypeError):
                self.best_score = float(read_metadata(run.best_path)[SCORE_KEY])

    def save(self, state: Any, metadata: dict[str, Any], score: float) -> Path:
        """Write `state` as the latest checkpoint with `metadata` (which holds `self.unit`),
        record `score` (NaN: none), keep it as history/best as configured; returns its path."""
        scored = math.isfinite(score)
        path = save_checkpoint(self.run.checkpoint_path, state,
                               {**metadata, SCORE_KEY: score if scored else None})
        if self.keep_last > 1:
            _link(path, self.run.history_path(self.unit, int(metadata[self.unit])))
            self._prune_history()
        if self.keep_best and scored and score > self.best_score:
            _link(path, self.run.best_path)
            self.best_score = score
        return path

    def _prune_history(self) -> None:
        kept = sorted(self.run.history_dir.glob(f"{self.unit}_*.ckpt"))
        for old in kept[: max(len(kept) - self.keep_last, 0)]:
            old.unlink(missing_ok=True)


def _link(source: Path, target: Path) -> None:
    """Make `target` a hard link to (or else a copy of) `source`, replacing it atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
