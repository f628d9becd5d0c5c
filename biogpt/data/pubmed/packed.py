"""Packed blocks as micro-batches: per-rank shards, per-epoch shuffles and a resumable position.

Every micro-batch of a training epoch holds ``blocks_per_batch`` full blocks, so every micro-batch
predicts the same number of tokens and every update ``world_size * update_freq * blocks_per_batch *
tokens_per_sample`` of them: each micro-batch carries that ``update_tokens`` and the step normalises
with :func:`biogpt.loss.update_normalised`, as fine-tuning does, with no communication.

Epoch ``e`` permutes all blocks with ``(seed, e)`` and deals micro-batch ``s`` of rank ``r`` the
blocks ``order[(s * world_size + r) * blocks_per_batch:][:blocks_per_batch]``: ranks read disjoint
blocks and, with the same number of steps, stay in lockstep. The blocks left after the last whole
update of the epoch (fewer than one update's worth) are not trained that epoch; the next epoch's
shuffle leaves out others. A 1-process run with ``world_size * blocks_per_batch`` blocks per
micro-batch trains on exactly the same update batches.

Training resumes mid-epoch as fine-tuning does (:mod:`biogpt.data.resume`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from biogpt.data.pubmed.packing import PackedIndex, PackedSplit
from biogpt.data.resume import EpochBatchSampler, ResumableTrainData, already_collated
from biogpt.errors import ConfigError, DataFileError
from biogpt.model import BioGPTConfig
from biogpt.tokenizer import BioGPTTokenizer


@dataclass(frozen=True)
class BlockBatch:
    """Block indices of one micro-batch and how its loss is normalised (weight 0: a filler)."""

    blocks: np.ndarray
    update_tokens: int
    loss_weight: float = 1.0


class TrainBlockSampler(EpochBatchSampler[BlockBatch]):
    """One rank's training micro-batches of an epoch, whole updates only, resumable mid-epoch."""

    def __init__(
        self,
        num_blocks: int,
        blocks_per_batch: int,
        tokens_per_sample: int,
        *,
        update_freq: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        per_update = world_size * blocks_per_batch * update_freq
        self.steps = num_blocks // per_update * update_freq
        if self.steps == 0:
            raise ValueError(
                f"the training split has {num_blocks} blocks, fewer than one update needs "
                f"({world_size} ranks x {update_freq} micro-batches x {blocks_per_batch} blocks)"
            )
        self.num_blocks = num_blocks
        self.blocks_per_batch = blocks_per_batch
        self.update_tokens = per_update * tokens_per_sample
        self.seed = seed
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return self.steps

    def epoch_batches(self) -> Iterator[BlockBatch]:
        order = np.random.default_rng((self.seed, self.epoch)).permutation(self.num_blocks)
        for step in range(self.steps):
            first = (step * self.world_size + self.rank) * self.blocks_per_batch
            yield BlockBatch(order[first : first + self.blocks_per_batch], self.update_tokens)


class EvalBlockSampler(Sampler[BlockBatch]):
    """Every block once, in order, dealt to ranks; a rank short of a batch repeats one with weight 0."""

    def __init__(self, num_blocks: int, blocks_per_batch: int, *, rank: int = 0, world_size: int = 1) -> None:
        self.num_blocks = num_blocks
        self.blocks_per_batch = blocks_per_batch
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return math.ceil(self.num_blocks / (self.world_size * self.blocks_per_batch))

    def __iter__(self) -> Iterator[BlockBatch]:
        for step in range(len(self)):
            first = (step * self.world_size + self.rank) * self.blocks_per_batch
            blocks = np.arange(first, min(first + self.blocks_per_batch, self.num_blocks))
            if len(blocks):
                yield BlockBatch(blocks, 0)
            else:  # DDP needs the same number of steps on every rank
                yield BlockBatch(np.arange(min(self.blocks_per_batch, self.num_blocks)), 0, loss_weight=0.0)


class BlockDataset(Dataset):
    """Tensors of a planned micro-batch: ``input_ids`` and their next tokens ``targets``, ``[B, T]``."""

    def __init__(self, split: PackedSplit) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitems__(self, batch: BlockBatch) -> dict[str, Any]:
        windows = torch.from_numpy(self.split.windows(batch.blocks))
        return {
            "input_ids": windows[:, :-1],
            "targets": windows[:, 1:],
            "attention_mask": None,  # full blocks: the causal mask alone (SDPA's fused path)
            "update_tokens": torch.tensor(batch.update_tokens),
            "loss_weight": torch.tensor(batch.loss_weight),
            "blocks": torch.from_numpy(batch.blocks),
        }


class PackedDataModule(ResumableTrainData, L.LightningDataModule):
    """Train/valid loaders over a packed corpus (:mod:`biogpt.data.pubmed.packing`), sharded by rank."""

    def __init__(
        self, corpus_dir: str | Path, *, blocks_per_batch: int = 1, seed: int = 1, num_workers: int = 0
    ) -> None:
        super().__init__()
        self.corpus_dir = Path(corpus_dir)
        self.splits = {name: PackedSplit(self.corpus_dir, name) for name in ("train", "valid")}
        self.index = self.splits["train"].index
        self.blocks_per_batch = blocks_per_batch
        self.seed = seed
        self.num_workers = num_workers

    def _rank_and_world(self) -> tuple[int, int]:
        return (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)

    def _loader(self, split: str, sampler: Sampler[BlockBatch]) -> DataLoader:
        dataset = BlockDataset(self.splits[split])
        return DataLoader(
            dataset, batch_sampler=sampler, collate_fn=already_collated, num_workers=self.num_workers
        )

    def train_dataloader(self) -> DataLoader:
        rank, world_size = self._rank_and_world()
        sampler = TrainBlockSampler(
            len(self.splits["train"]),
            self.blocks_per_batch,
            self.index.tokens_per_sample,
            update_freq=self.trainer.accumulate_grad_batches if self.trainer else 1,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
        )
        return self._loader("train", self.resumed(sampler))

    def val_dataloader(self) -> DataLoader:
        rank, world_size = self._rank_and_world()
        return self.valid_loader(rank, world_size, "or set trainer.limit_val_batches=0")

    def valid_loader(self, rank: int = 0, world_size: int = 1, remedy: str = "") -> DataLoader:
        """Every valid block once over the ranks; rank 0 of 1 reads them all (the closing evaluation)."""
        blocks = len(self.splits["valid"])
        if blocks == 0:
            raise DataFileError(
                f"the valid split of {self.corpus_dir} has no full block; pack with a larger "
                f"--valid-fraction {remedy}".rstrip()
            )
        return self._loader(
            "valid", EvalBlockSampler(blocks, self.blocks_per_batch, rank=rank, world_size=world_size)
        )


def check_corpus(
    index: PackedIndex, tokenizer: BioGPTTokenizer, model: BioGPTConfig, tokens_per_sample: int
) -> None:
    """Refuse a corpus packed with another vocabulary or block size, or blocks longer than the model:
    the settings and the corpus disagree, and either may be the one to change."""
    if index.vocab_hash != tokenizer.fingerprint():
        raise ConfigError(
            f"the corpus was packed with another vocabulary (hash {index.vocab_hash}) than the tokenizer "
            f"in use ({tokenizer.fingerprint()}); repack it or set tokenizer="
        )
    if index.tokens_per_sample != tokens_per_sample:
        raise ConfigError(
            f"pretrain.tokens_per_sample={tokens_per_sample} but the corpus was packed with "
            f"--tokens-per-sample {index.tokens_per_sample}"
        )
    if tokens_per_sample > model.max_positions or index.vocab_size > model.vocab_size:
        raise ConfigError(
            f"blocks of {tokens_per_sample} tokens over {index.vocab_size} ids do not fit the model "
            f"({model.max_positions} positions, {model.vocab_size} ids)"
        )
