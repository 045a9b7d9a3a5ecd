"""The training command line, shared by `scripts/train_ppo.py` and `scripts/train_wm.py`.

    python scripts/train_ppo.py env=popgym            # -> hydra_main -> train_from_hydra
    python scripts/train_ppo.py resume=outputs/2026-12-07/10-00-00

What a user sees: the preset chosen for the machine (PPO: `preset=fast` without an
accelerator, `preset=paper` with one; naming a preset overrides the choice), the run
directory, the compile time, a progress bar with the return from the first chunk, and on
Ctrl-C a checkpoint and the exact command that resumes. A bad config, env id, resume path or
checkpoint ends the command with one line, `error: ...`, and no traceback
(`HYDRA_FULL_ERROR=1` shows it). Nothing is written before the first chunk has trained: a run
that fails earlier, or a resume, leaves no directory behind.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from agents.common.config import RunConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# What the command line reports in one line: bad values (ValueError, CheckpointError) and
# missing files (FileNotFoundError). Wrong types in the config are Hydra's schema errors.
USER_ERRORS = (ValueError, FileNotFoundError)


def check_resume_overrides(overrides: list[str]) -> None:
    """A resumed run takes every setting from its run directory: reject other overrides."""
    other = [o for o in overrides if not o.lstrip("+~").startswith(("resume=", "hydra."))]
    if other:
        raise ValueError(
            f"resume=<run dir> continues that run with its stored config; remove the other "
            f"overrides {other}"
        )


def train_from_hydra(
    config_class: type[RunConfig], cfg: DictConfig, run_dir: str | Path, overrides: list[str] = ()
) -> Path:
    """Build `config_class` from the composed config and train (or resume) into `run_dir`.

    `run_dir` is removed again if it is still empty at the end (a resume trains into the
    resumed directory; a run that failed before its first chunk wrote nothing)."""
    from agents.common.training import run_training

    try:
        config = config_class.from_dict(cfg)
        if config.resume:
            check_resume_overrides(list(overrides))
        return run_training(config, run_dir)
    finally:
        _remove_if_empty(Path(run_dir))


def _remove_if_empty(run_dir: Path) -> None:
    """Remove `run_dir`, then its parent (Hydra's `outputs/<date>`), where they are empty."""
    for path in (run_dir, run_dir.parent):
        if path.resolve() == Path.cwd().resolve():
            return
        try:
            path.rmdir()  # only succeeds when empty
        except OSError:
            return


def accelerator_present() -> bool:
    """Whether JAX would find a GPU or TPU here, decided without starting JAX (which must not
    happen before `jax.distributed` and the determinism flags are set up): `$JAX_PLATFORMS`
    if set, else an NVIDIA device node with JAX's CUDA plugin installed, or a TPU device with
    libtpu installed."""
    platforms = os.environ.get("JAX_PLATFORMS", "")
    if platforms:
        return any(p in platforms for p in ("cuda", "gpu", "rocm", "tpu"))
    cuda = any(importlib.util.find_spec(m) for m in ("jax_cuda12_plugin", "jax_cuda13_plugin"))
    if cuda and glob.glob("/dev/nvidia[0-9]*"):
        return True
    return bool(importlib.util.find_spec("libtpu") and glob.glob("/dev/accel*") + glob.glob(
        "/dev/vfio/[0-9]*"))


def preset_for_machine(overrides: list[str]) -> list[str]:
    """`["preset=fast"]` or `["preset=paper"]` for this machine, saying so on stderr; `[]` when
    the overrides already name a preset (a sweep over presets included) or resume a run."""
    if any(o.lstrip("+~").startswith(("preset=", "resume=")) for o in overrides):
        return []
    if accelerator_present():
        preset, note = "paper", "an accelerator is present: the S5 paper's configuration"
        other = "preset=fast for a quick run"
    else:
        preset, note = "fast", "no GPU/TPU found: the laptop configuration, minutes on a CPU"
        other = "preset=paper for the S5 paper's configuration"
    print(f"preset={preset} ({note}; {other})", file=sys.stderr, flush=True)
    return [f"preset={preset}"]


def compose_run_config(config_class: type[RunConfig], config_name: str,
                       register: Callable[[], None], overrides: list[str]) -> RunConfig:
    """The config `scripts/<config_name>.py <overrides>` would train, built in-process through
    Hydra's compose API (no run directory; the preset is whatever `overrides` name)."""
    from hydra import compose, initialize_config_dir

    register()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return config_class.from_dict(compose(config_name, overrides=overrides))


def hydra_main(config_class: type[RunConfig], config_name: str,
               register: Callable[[], None], choose_preset: bool = False) -> None:
    """The body of a training script: compose `configs/<config_name>.yaml` with the command
    line's overrides (plus the machine's preset if `choose_preset`), train, and report errors
    and interruptions in a line or two."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from agents.common.faults import TrainingInterrupted

    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)  # backend-probe INFO lines
    register()
    if choose_preset:
        sys.argv += preset_for_machine(sys.argv[1:])
    script = os.path.relpath(sys.argv[0])

    @hydra.main(config_path=str(CONFIG_DIR), config_name=config_name, version_base="1.3")
    def main(cfg: DictConfig) -> None:
        hydra_cfg = HydraConfig.get()
        try:
            run_dir = train_from_hydra(config_class, cfg, hydra_cfg.runtime.output_dir,
                                       hydra_cfg.overrides.task)
        except TrainingInterrupted as stopped:
            print(f"resume with: python {script} resume={stopped.run_dir}", file=sys.stderr)
            raise
        except KeyboardInterrupt:
            print("\nstopped at once (second Ctrl-C); the last saved checkpoint is kept",
                  file=sys.stderr)
            sys.exit(130)
        except USER_ERRORS as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print(f"error: {err}\n(HYDRA_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
            sys.exit(2)
        print(f"run directory: {run_dir}")

    main()
