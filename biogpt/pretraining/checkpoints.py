"""Checkpoints a kill cannot corrupt, and the one a restarted run resumes from.

Lightning writes a checkpoint through an fsspec transaction: to a file in the system temporary
directory, moved into place at the end. When that directory is on another filesystem (a tmpfs
``/tmp``, a node-local disk beside a shared one) the move is a copy, so a kill during it leaves a
truncated checkpoint under the final name, and nothing is fsynced. :class:`AtomicCheckpointIO` writes
beside the target, fsyncs and renames (``os.replace``): a checkpoint file is whole or absent.

Checkpoints are named ``step{updates:07d}.ckpt``; :func:`latest_checkpoint` picks the highest step
that exists, which every write leaves complete. It does not rely on ``last.ckpt``: Lightning replaces
that link by removing it first, so a kill in between would leave a run without one, and
``ckpt_path="last"`` would then silently start over.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

CHECKPOINT_NAME = "step{step:07d}"
_CHECKPOINT_FILE = re.compile(r"step(\d+)\.ckpt")
_TEMPORARY_SUFFIX = ".partial"


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=_TEMPORARY_SUFFIX
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power loss
        finally:
            os.close(directory)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint of the most updates under ``directory``; removes partial writes of killed runs."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    for partial in directory.glob(f".*{_TEMPORARY_SUFFIX}"):
        partial.unlink(missing_ok=True)
    steps = {
        int(match.group(1)): path
        for path in directory.iterdir()
        if (match := _CHECKPOINT_FILE.fullmatch(path.name)) and not path.is_symlink()
    }
    return steps[max(steps)] if steps else None
