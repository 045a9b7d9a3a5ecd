"""Atomic checkpoints of a whole train state (any pytree of arrays) with integrity checks.

File layout: one header line, then a msgpack payload (flax.serialization):

    SSMRL-CKPT 1 <payload bytes> <sha256 of payload>\n<payload>

The payload is `{"metadata": <JSON text>, "state": <flax state dict of the pytree>}`.
`save_checkpoint` writes a temporary file in the same directory, fsyncs it and renames it over
the target (`os.replace` is atomic on POSIX), so a crash leaves either the old or the new
checkpoint, never a torn one. `load_checkpoint` restores into a *target* pytree of the same
structure (e.g. a freshly initialised state) and raises `CheckpointError` (a ValueError) for a
missing, truncated or corrupt file, or one whose tree structure, shapes or dtypes do not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

MAGIC = b"SSMRL-CKPT"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be restored into the requested state."""


def save_checkpoint(path: str | os.PathLike, state: Any, metadata: dict | None = None) -> Path:
    """Write `state` (pytree) and JSON-able `metadata` to `path` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    host_state = jax.device_get(state)
    payload = serialization.msgpack_serialize(
        {
            "metadata": json.dumps(metadata or {}, sort_keys=True),
            "state": serialization.to_state_dict(host_state),
        }
    )
    header = b"%s %d %d %s\n" % (
        MAGIC,
        VERSION,
        len(payload),
        hashlib.sha256(payload).hexdigest().encode(),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would have given
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict of a checkpoint (verifies the file's integrity first)."""
    return _read(Path(path))[0]


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, Any]:
    """`(metadata, state dict)` of a verified checkpoint without a target: the state as nested
    dicts of numpy arrays (flax state-dict form), e.g. to compare two checkpoints."""
    return _read(Path(path))


def load_checkpoint(
    path: str | os.PathLike, target: Any, part: str | None = None
) -> tuple[Any, dict]:
    """`(state, metadata)` with `state` shaped like `target` (a pytree, e.g. a fresh state).

    `part` restores only one top-level field of the saved state (e.g. `"params"`), `target`
    then being shaped like that field. Every leaf must match the target's tree path, shape and
    dtype; otherwise CheckpointError names the first mismatching leaf.
    """
    path = Path(path)
    metadata, saved = _read(path)
    if part is not None:
        if not isinstance(saved, dict) or part not in saved:
            fields = sorted(saved) if isinstance(saved, dict) else []
            raise CheckpointError(f"{str(path)!r} has no state field {part!r}; it has {fields}")
        saved = saved[part]
    expected = serialization.to_state_dict(jax.device_get(target))
    _check_compatible(saved, expected, path, f"/{part}" if part else "")
    return serialization.from_state_dict(target, saved), metadata


def _read(path: Path) -> tuple[dict, Any]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    data = path.read_bytes()
    newline = data.find(b"\n")
    fields = data[:newline].split(b" ") if newline > 0 else []
    if len(fields) != 4 or fields[0] != MAGIC or not (fields[1] + fields[2]).isdigit():
        raise CheckpointError(f"{str(path)!r} is not an ssm_rl checkpoint (bad header)")
    version, length, digest = int(fields[1]), int(fields[2]), fields[3].decode("latin-1")
    if version != VERSION:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format version {version}; this code reads {VERSION}"
        )
    payload = data[newline + 1 :]
    if len(payload) != length:
        raise CheckpointError(
            f"{str(path)!r} is truncated or corrupt: payload has {len(payload)} bytes, "
            f"header says {length}"
        )
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CheckpointError(f"{str(path)!r} is corrupt: sha256 of the payload does not match")
    content = serialization.msgpack_restore(payload)
    return json.loads(content["metadata"]), content["state"]


def _check_compatible(saved: Any, expected: Any, path: Path, where: str = "") -> None:
    if isinstance(expected, dict):
        if not isinstance(saved, dict) or set(saved) != set(expected):
            got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise CheckpointError(
                f"{str(path)!r} does not match the train state at {where or '/'}: keys {got} in "
                f"the file, {sorted(expected)} expected (different config or code version?)"
            )
        for key in expected:
            _check_compatible(saved[key], expected[key], path, f"{where}/{key}")
        return
    saved_arr, expected_arr = np.asarray(saved), np.asarray(expected)
    if saved_arr.shape != expected_arr.shape or saved_arr.dtype != expected_arr.dtype:
        raise CheckpointError(
            f"{str(path)!r} does not match the train state at {where}: "
            f"{saved_arr.dtype}{list(saved_arr.shape)} in the file, "
            f"{expected_arr.dtype}{list(expected_arr.shape)} expected (different config?)"
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
