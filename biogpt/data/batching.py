"""fairseq-style batching: token budgets, length buckets, per-epoch shuffling, DDP shards, update plans.

fairseq sorts examples by length (after a seeded shuffle, so equal lengths mix), packs consecutive
examples while ``longest * count <= max_tokens``, shuffles the batches each epoch, and deals them to
ranks. Its loss is normalised by the number of predicted tokens of the whole update (every
micro-batch of every rank), so each :class:`MicroBatch` carries that total: the training step can
then normalise exactly, with no communication, because every rank plans every rank's batches.

When the batch count does not divide among ranks, ranks short of a batch get a repeat of one of
their batches marked ``loss_weight=0``: DDP needs equal step counts, and fairseq does the same with
empty dummy batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from biogpt.data.resume import EpochBatchSampler
from biogpt.errors import ConfigError


@dataclass(frozen=True)
class MicroBatch:
    """Example indices of one forward/backward, and how its loss is normalised."""

    indices: tuple[int, ...]
    update_tokens: int
    loss_weight: float = 1.0


def pack_by_tokens(order: Sequence[int], lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Consecutive runs of ``order`` whose padded size ``longest * count`` fits ``max_tokens``."""
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = lengths[index]
        if length > max_tokens:
            raise ConfigError(
                f"data.max_tokens={max_tokens}: example {index} has {length} tokens; expected a budget of at "
                "least the longest example's (raise data.max_tokens or lower the task's max_source_positions)"
            )
        if current and max(longest, length) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(index)
        longest = max(longest, length)
    if current:
        batches.append(current)
    return batches


class TokenBudgetBatchSampler(EpochBatchSampler[MicroBatch]):
    """The micro-batches of one rank, grouped ``update_freq`` at a time into optimizer updates."""

    def __init__(
        self,
        lengths: Sequence[int],
        predicted_tokens: Sequence[int],
        *,
        max_tokens: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        update_freq: int = 1,
    ) -> None:
        if (max_tokens is None) == (batch_size is None):
            raise ValueError("set exactly one of data.max_tokens and data.batch_size")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        if len(lengths) == 0:
            raise ValueError("cannot batch an empty dataset")
        self.lengths = np.asarray(lengths)
        self.predicted_tokens = np.asarray(predicted_tokens)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.update_freq = update_freq

    def global_batches(self) -> list[list[int]]:
        """Every rank's batches of this epoch, in the order they are dealt."""
        rng = np.random.default_rng((self.seed, self.epoch))
        order = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        order = order[np.argsort(self.lengths[order], kind="stable")]
        if self.max_tokens is not None:
            batches = pack_by_tokens(order.tolist(), self.lengths.tolist(), self.max_tokens)
        else:
            batches = [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __len__(self) -> int:
        return math.ceil(len(self.global_batches()) / self.world_size)

    def plan(self) -> list[list[MicroBatch]]:
        """Micro-batches of every rank (``plan()[rank]``), with the update totals filled in."""
        batches = self.global_batches()
        steps = math.ceil(len(batches) / self.world_size)
        per_rank: list[list[MicroBatch]] = [[] for _ in range(self.world_size)]
        for update_start in range(0, steps, self.update_freq):
            update_steps = range(update_start, min(update_start + self.update_freq, steps))
            slots = [(step, rank) for step in update_steps for rank in range(self.world_size)]
            real = [step * self.world_size + rank for step, rank in slots]
            total = int(sum(self.predicted_tokens[batches[i]].sum() for i in real if i < len(batches)))
            for (_, rank), index in zip(slots, real, strict=True):
                if index < len(batches):
                    per_rank[rank].append(MicroBatch(tuple(batches[index]), total))
                else:  # filler so every rank takes the same number of steps
                    per_rank[rank].append(MicroBatch(tuple(batches[rank]), total, loss_weight=0.0))
        return per_rank

    def epoch_batches(self) -> Iterator[MicroBatch]:
        return iter(self.plan()[self.rank])
