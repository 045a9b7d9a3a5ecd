#!/usr/bin/env python
"""Learning curves (mean and spread over seeds) from run directories to a PNG.

    python scripts/plot.py outputs/2025-01-01/*            # -> outputs/2025-01-01/curves.png
    python scripts/plot.py multirun/2025-01-01/12-00-00/* --label-keys model.name --band range

Runs are grouped by every config value that differs between them (or by --label-keys); each
group is drawn as the mean over all its seeds with a +-1 std (or min-max) band. The PNG goes
next to the runs (their common parent directory) unless --out names another file.
"""

import argparse
import os
from pathlib import Path

from agents.common.plotting import group_curves, plot_groups


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None,
                        help="PNG path (default: <the runs' common parent>/curves.png)")
    parser.add_argument("--metric", default="episode/return")
    parser.add_argument("--x-key", default="env_steps")
    parser.add_argument("--label-keys", default=None,
                        help="comma-separated dotted config keys that name a group "
                             "(default: every key whose value differs between the runs)")
    parser.add_argument("--band", choices=("std", "range"), default="std")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    runs = [d for d in args.run_dirs if (d / "config.yaml").is_file()]
    if not runs:
        parser.error(f"none of {[str(d) for d in args.run_dirs]} is a run directory "
                     "(no config.yaml)")
    label_keys = None if args.label_keys is None else [k for k in args.label_keys.split(",") if k]
    groups = group_curves(runs, args.metric, args.x_key, label_keys)
    out_path = args.out or Path(os.path.commonpath([d.resolve() for d in runs])) / "curves.png"
    if not groups:
        parser.error(f"no values of {args.metric!r} in {[str(d) for d in runs]}")
    out = plot_groups(groups, out_path, metric=args.metric, x_label=args.x_key.replace("_", " "),
                      band=args.band, title=args.title)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
