"""Bit-reproducible runs: the XLA flags that remove GPU non-determinism.

Same seed + same config + same machine and software already give identical metrics and
parameters on CPU (and TPU): every random number comes from the run's PRNG key and XLA:CPU's
reductions have a fixed order. On GPU two things vary from run to run: reductions and
scatter-adds implemented with atomics (summation order), and the autotuner, which times
candidate GEMM/convolution kernels at compile time and may pick a different one (different
round-off) in another process. `enable_deterministic_ops` sets

    --xla_gpu_deterministic_ops=true   deterministic reductions/scatters; compilation fails for
                                       an op that has no deterministic GPU implementation
    --xla_gpu_autotune_level=0         no autotuning: XLA's default kernel choice every time

Cost (GPU only; not yet measured for these trainers): atomics-based scatters and reductions
become sorted or serialised kernels, and untuned GEMMs may be slower, so steps get slower by an
amount that depends on the model (scatter-heavy code suffers most); compilation gets faster (no
autotuning). On CPU the flags change nothing. XLA reads XLA_FLAGS once, when the backend
starts, so this must run before the first JAX computation of the process.
"""

from __future__ import annotations

import os

import jax

DETERMINISTIC_XLA_FLAGS: tuple[str, ...] = (
    "--xla_gpu_deterministic_ops=true",
    "--xla_gpu_autotune_level=0",
)


def enable_deterministic_ops() -> None:
    """Add `DETERMINISTIC_XLA_FLAGS` to the XLA_FLAGS environment variable.

    RuntimeError if a GPU backend already started without them (too late to take effect);
    on CPU/TPU, where runs are already reproducible, starting late is harmless.
    """
    present = os.environ.get("XLA_FLAGS", "").split()
    missing = [flag for flag in DETERMINISTIC_XLA_FLAGS if flag not in present]
    if not missing:
        return
    from jax._src import xla_bridge  # no public API tells whether the backend has started

    if xla_bridge.backends_are_initialized() and jax.default_backend() == "gpu":
        raise RuntimeError(
            f"deterministic=true needs XLA_FLAGS={' '.join(DETERMINISTIC_XLA_FLAGS)} before the "
            "GPU backend starts, but it already started; set them in the environment or train "
            "in a fresh process"
        )
    os.environ["XLA_FLAGS"] = " ".join([*present, *missing])
