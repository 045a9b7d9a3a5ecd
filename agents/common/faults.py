"""What stops a training run early, and how: stop signals and non-finite numbers.

Stop signals. `StopSignals` turns SIGINT (Ctrl-C) and SIGTERM (`kill`, SLURM's time limit,
preemption) into a request that the host loop honours at the next chunk boundary: the chunk in
flight finishes (or, when the signal comes while the host is logging, the next one), its
checkpoint is written (even when periodic checkpoints are off), and the run ends with
`TrainingInterrupted` (a `SystemExit` with status 128 + signal number, 130 for SIGINT, 143 for
SIGTERM, what shells and schedulers expect). A second SIGINT while waiting interrupts at once
(`KeyboardInterrupt`), keeping the previous checkpoint. SIGKILL cannot be caught: checkpoints
are written to a temporary name and renamed (agents.common.checkpoint), so the last one is
intact whenever the process dies.

Non-finite numbers. A chunk returns its per-update metrics (losses, parameter norm, ...) in one
transfer; `check_finite` scans them on the host, so detection costs no extra device sync. The
first NaN/inf raises `NonFiniteError` naming the update, the seed and the quantity, before the
chunk's state is checkpointed: the last good checkpoint stays on disk.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import numpy as np

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(SystemExit):
    """The run stopped on a signal after saving; `code` is 128 + the signal number."""

    def __init__(self, signum: int, done: int, unit: str = "update", run_dir: Any = None):
        super().__init__(128 + signum)
        self.signum, self.done, self.unit, self.run_dir = signum, done, unit, run_dir

    def __str__(self) -> str:
        stopped = (f"training stopped by {signal.Signals(self.signum).name} after {self.unit} "
                   f"{self.done}; the checkpoint holds that state")
        if self.run_dir is None:
            return stopped
        return f"{stopped}, continue with resume={self.run_dir}"


class NonFiniteError(FloatingPointError):
    """A metric of an update is NaN or infinite."""

    def __init__(self, name: str, value: float, update: int, seed: int, unit: str = "update"):
        super().__init__(
            f"non-finite {name} = {value} at {unit} {update} (seed {seed}); training stopped, "
            f"the checkpoint of the last complete chunk before it is kept"
        )
        self.name, self.value, self.update, self.seed = name, value, update, seed


class StopSignals:
    """Context manager: while active, SIGINT/SIGTERM set `signum` instead of killing.

    Handlers can only be installed from the main thread; elsewhere this does nothing (signals
    keep their default behaviour).
    """

    def __init__(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS):
        self.signals = signals
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now
        if self.signum is None:
            self.signum = signum
            again = "; Ctrl-C again to stop now" if signum == signal.SIGINT else ""
            print(f"\n{signal.Signals(signum).name} received: stopping after the current chunk "
                  f"(its checkpoint is saved){again}", file=sys.stderr, flush=True)

    def __enter__(self) -> StopSignals:
        try:
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        except ValueError:  # not the main thread
            self._restore()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def _restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()


def check_finite(metrics: dict[str, Any], first: int, unit: str = "update") -> None:
    """NonFiniteError for the first non-finite entry of `metrics` `{name: [num_seeds, n]}`
    (row i is update `first + i`), scanning updates in order, then names."""
    floats = {k: np.asarray(v) for k, v in metrics.items()}
    floats = {k: v for k, v in floats.items() if np.issubdtype(v.dtype, np.inexact)}
    if all(np.isfinite(v).all() for v in floats.values()):
        return
    n = next(iter(floats.values())).shape[1]
    for i in range(n):
        for name in sorted(floats):
            rows = floats[name][:, i].reshape(floats[name].shape[0], -1)  # [num_seeds, k]
            seeds, columns = np.nonzero(~np.isfinite(rows))
            if seeds.size:
                value = float(rows[seeds[0], columns[0]])
                raise NonFiniteError(name, value, first + i, int(seeds[0]), unit)
