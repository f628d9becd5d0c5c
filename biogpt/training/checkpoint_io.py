"""Checkpoints a kill cannot corrupt, written every N updates, and the one a restarted run resumes from.

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

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from biogpt.errors import MissingFileError

logger = logging.getLogger(__name__)

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


def step_checkpoints(
    directory: Path, every_n_updates: int, *, link_last: bool = False, epoch_ends: bool = False
) -> list[ModelCheckpoint]:
    """Checkpoints named by their update count, each kept until the next one is complete.

    One every ``every_n_updates`` updates (``link_last``: and ``last.ckpt`` links it, or holds the
    final state when the run ends between two of them). With ``epoch_ends``, one more at the end of
    every epoch, after its validation and its epoch checkpoint, and none at an epoch's last batch: a
    run resumed from there would skip that epoch's validation and epoch checkpoint (Lightning treats
    the epoch as done), which averaging needs.

    No monitor: with one, Lightning defers the save of an epoch's last step to a validation that may
    not run then. Without one it keeps the newest checkpoint only, removing the previous one after the
    new one is complete.
    """
    if every_n_updates < 1:
        raise ValueError(f"checkpoints every {every_n_updates} updates: expected a positive number")
    common = {
        "dirpath": directory,
        "filename": CHECKPOINT_NAME,
        "auto_insert_metric_name": False,
        "monitor": None,
        "save_top_k": 1,
    }
    if not epoch_ends:
        last = "link" if link_last else None
        return [ModelCheckpoint(every_n_train_steps=every_n_updates, save_last=last, **common)]
    return [
        _MidEpochCheckpoint(every_n_train_steps=every_n_updates, **common),
        ModelCheckpoint(every_n_epochs=1, **common),
    ]


class _MidEpochCheckpoint(ModelCheckpoint):
    """Every-N-updates checkpoints that leave an epoch's last update to the epoch-end checkpoint.

    Lightning checks every micro-batch; only one that closed an update saves here (the update that
    closed an epoch stays current during the next epoch's first micro-batches, and a resumed run's
    first micro-batches are in the middle of an update).
    """

    _updates_seen: int = 0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._updates_seen = trainer.global_step

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        closed_an_update = trainer.global_step != self._updates_seen
        self._updates_seen = trainer.global_step
        if closed_an_update and not trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def resume_path(resume: str | bool | None, directory: Path) -> str | None:
    """The checkpoint a run continues from: ``auto`` (or true) the newest under ``directory``, if any;
    None (or false) none; anything else a checkpoint file."""
    if resume in (None, False):
        return None
    if resume in ("auto", True):
        found = latest_checkpoint(directory)
        if found is not None:
            logger.info("resuming from %s", found)
        return None if found is None else str(found)
    if not Path(str(resume)).is_file():
        raise MissingFileError(f"resume={resume}: no such checkpoint")
    return str(resume)
