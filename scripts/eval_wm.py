#!/usr/bin/env python
"""S4WM-style evaluation of sequence world models (S5 / Mamba-style / GRU / Transformer) at
equal size, and the world-model agent against recurrent PPO (`benchmarks.world_model_study`).
Writes results.json, results.md and plots to --out.

    python scripts/eval_wm.py --quick                     # seconds-scale smoke run
    python scripts/eval_wm.py --out outputs/eval_wm --train-steps 3000
    python scripts/eval_wm.py --backbones s5 gru --memory-lengths 16 64 256
    python scripts/eval_wm.py --backbones --agent-envs MemoryChain RepeatFirstEasy \
        --agent-steps 30000 --agent-memory-length 8          # agent vs PPO only
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from benchmarks.world_model_study import StudySettings, run_study


def parse_settings(argv: list[str] | None = None) -> StudySettings:
    """`StudySettings` from the command line: one `--option` per field, defaults from there."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    for field in dataclasses.fields(StudySettings):
        flag, help_text = "--" + field.name.replace("_", "-"), field.metadata.get("help")
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=help_text)
        elif isinstance(default, list):
            kind = type(default[0]) if default else str
            parser.add_argument(flag, nargs="*", type=kind, default=default, help=help_text)
        else:
            kind = Path if isinstance(default, Path) else type(default)
            parser.add_argument(flag, type=kind, default=default, help=help_text)
    args = parser.parse_args(argv)
    try:
        return StudySettings(**vars(args))
    except ValueError as err:
        parser.error(str(err))


if __name__ == "__main__":
    run_study(parse_settings())
