"""Training data that resumes mid-epoch: a killed run, restarted, trains on exactly the micro-batches an
uninterrupted run would have.

A sampler's epoch order is a pure function of ``(seed, epoch)``, so the position ``(epoch,
micro-batches trained)`` is all a checkpoint needs. The DataModule saves it with every checkpoint; it
is read from Lightning's progress (``batch_progress.current.ready``), not counted in the sampler,
because Lightning fetches a batch ahead: at a checkpoint the sampler has already produced one batch
more than was trained.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from torch.utils.data import Sampler

BatchT = TypeVar("BatchT")


class EpochBatchSampler(Sampler[BatchT], Generic[BatchT]):
    """A batch sampler whose order is seeded by the epoch and that can start an epoch part-way.

    Subclasses give the number of micro-batches of an epoch (``__len__``) and the epoch's batches in
    order (:meth:`epoch_batches`).
    """

    epoch: int = 0
    start: int = 0  # micro-batches of ``epoch`` already trained, skipped once (a resumed run)

    @property
    def sampler(self) -> EpochBatchSampler[BatchT]:
        """Itself: Lightning calls ``set_epoch`` on ``loader.sampler`` and on
        ``loader.batch_sampler.sampler``, never on the batch sampler itself; without this property every
        epoch would repeat epoch 0's order."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this at each epoch start (through :attr:`sampler`); the epoch seeds the order."""
        if epoch != self.epoch:
            self.start = 0
        self.epoch = epoch

    def resume(self, epoch: int, trained: int) -> None:
        """Continue after ``trained`` micro-batches of ``epoch`` (a finished epoch: the next one)."""
        self.epoch, self.start = (epoch, trained) if trained < len(self) else (epoch + 1, 0)

    def epoch_batches(self) -> Iterator[BatchT]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[BatchT]:
        start, self.start = self.start, 0
        return itertools.islice(self.epoch_batches(), start, None)


class ResumableTrainData:
    """LightningDataModule mixin: checkpoints carry the training position, restored into the sampler."""

    trainer: Any
    _resume_from: tuple[int, int] | None = None

    def state_dict(self) -> dict[str, int]:
        """The training position, saved in every checkpoint."""
        return {
            "epoch": self.trainer.current_epoch,
            "trained": self.trainer.fit_loop.epoch_loop.batch_progress.current.ready,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Lightning restores this before it asks for the train loader, which then starts there."""
        self._resume_from = (state["epoch"], state["trained"])

    def resumed(self, sampler: EpochBatchSampler[BatchT]) -> EpochBatchSampler[BatchT]:
        """``sampler``, moved to the restored position if this is the first loader after a restore."""
        if self._resume_from is not None:
            sampler.resume(*self._resume_from)
            self._resume_from = None
        return sampler


def already_collated(batch: dict[str, Any]) -> dict[str, Any]:
    """The loaders' collate function: the datasets' ``__getitems__`` already return whole batches."""
    return batch
