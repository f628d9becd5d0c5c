"""The LightningDataModule of the downstream tasks: raw release -> cached token ids -> planned batches.

One module serves the five datasets: the task config (see :mod:`biogpt.data.tasks`) says which raw
files to read and how to render them; tokenization runs through ``datasets.map`` into an Arrow cache
keyed by the tokenizer, the task settings and the split, so a sweep tokenizes each corpus once.
Truncation and prompt insertion happen per batch (they depend on the prompt, which sweeps vary).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from biogpt.data.batching import MicroBatch, TokenBudgetBatchSampler
from biogpt.data.sequences import SequenceLayout
from biogpt.data.tasks import TaskConfig, load_task_split
from biogpt.loss import IGNORE_INDEX
from biogpt.tokenizer import BioGPTTokenizer

logger = logging.getLogger(__name__)


def tokenizer_fingerprint(tokenizer: BioGPTTokenizer) -> str:
    """Changes whenever any id the tokenizer could produce changes."""
    vocabulary = tokenizer.vocabulary
    content = json.dumps([vocabulary.pieces, vocabulary.merges, tokenizer.added_tokens])
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def tokenized_split(
    task: TaskConfig, split: str, tokenizer: BioGPTTokenizer, cache_dir: Path, num_proc: int | None = None
) -> datasets.Dataset:
    """Columns ``id``, ``source``, ``target``, ``source_ids``, ``target_ids`` of one split, cached."""
    task_split = load_task_split(task, split)
    if task_split.skipped:
        logger.warning(
            "%s/%s: %d malformed records skipped: %s",
            task.name,
            split,
            len(task_split.skipped),
            "; ".join(f"{r.record_id}: {r.reason}" for r in task_split.skipped[:5]),
        )
    if task_split.dropped:
        logger.info(
            "%s/%s: %d documents without relations dropped (as released)",
            task.name,
            split,
            len(task_split.dropped),
        )
    examples = task_split.examples
    if not examples:
        raise ValueError(f"{task.name}/{split}: no examples under {task.data_dir}")
    table = datasets.Dataset.from_dict(
        {
            "id": [e.id for e in examples],
            "source": [e.source for e in examples],
            "target": [e.target for e in examples],
        }
    )
    key = json.dumps([asdict(task), split, tokenizer_fingerprint(tokenizer)], sort_keys=True, default=str)
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    return table.map(
        _encode_columns,
        batched=True,
        fn_kwargs={"tokenizer": tokenizer},
        num_proc=num_proc,
        cache_file_name=str(cache_dir / f"{task.name}-{split}-{fingerprint}.arrow"),
        new_fingerprint=fingerprint,
        desc=f"tokenizing {task.name}/{split}",
    )


def _encode_columns(batch: dict[str, list[str]], tokenizer: BioGPTTokenizer) -> dict[str, list[list[int]]]:
    return {
        "source_ids": tokenizer.encode_batch(batch["source"]),
        "target_ids": tokenizer.encode_batch(batch["target"]),
    }


class EncodedSplit(Dataset):
    """Tokenized examples laid out by a :class:`SequenceLayout`; yields whole padded micro-batches."""

    def __init__(self, table: datasets.Dataset, layout: SequenceLayout, pad_id: int) -> None:
        self.ids: list[str] = list(table["id"])
        self.source_ids: list[list[int]] = list(table["source_ids"])
        self.target_ids: list[list[int]] = list(table["target_ids"])
        self.layout = layout
        self.pad_id = pad_id
        pairs = [layout.training_pair(s, t) for s, t in zip(self.source_ids, self.target_ids, strict=True)]
        self.lengths = np.array([len(inputs) for inputs, _ in pairs])
        self.predicted = np.array([sum(t != IGNORE_INDEX for t in targets) for _, targets in pairs])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__(MicroBatch((index,), int(self.predicted[index])))

    def __getitems__(self, batch: MicroBatch) -> dict[str, Any]:
        """The padded tensors of a planned micro-batch (the DataLoader hands us the whole plan)."""
        pairs = [self.layout.training_pair(self.source_ids[i], self.target_ids[i]) for i in batch.indices]
        width = max(len(inputs) for inputs, _ in pairs)
        input_ids = torch.full((len(pairs), width), self.pad_id, dtype=torch.long)
        targets = torch.full((len(pairs), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for row, (inputs, labels) in enumerate(pairs):
            input_ids[row, : len(inputs)] = torch.tensor(inputs)
            targets[row, : len(labels)] = torch.tensor(labels)
            attention_mask[row, : len(inputs)] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "targets": targets,
            "update_tokens": torch.tensor(batch.update_tokens),
            "loss_weight": torch.tensor(batch.loss_weight),
            "ids": [self.ids[i] for i in batch.indices],
        }


def _collated(batch: dict[str, Any]) -> dict[str, Any]:
    """``EncodedSplit.__getitems__`` already returns the batch."""
    return batch


class TaskDataModule(L.LightningDataModule):
    """Train/valid/test loaders of one task, batched by token budget (or fixed size) as fairseq does."""

    def __init__(
        self,
        task: TaskConfig,
        tokenizer: BioGPTTokenizer,
        layout: SequenceLayout,
        *,
        cache_dir: str | Path,
        splits: dict[str, str] | None = None,
        max_tokens: int | None = 1024,
        batch_size: int | None = None,
        seed: int = 1,
        num_workers: int = 0,
        train_shots: int | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.tokenizer = tokenizer
        self.layout = layout
        self.cache_dir = Path(cache_dir).expanduser()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.train_shots = train_shots
        self.split_names = {"train": "train", "valid": "valid", "test": "test"} | dict(splits or {})
        self.splits: dict[str, EncodedSplit] = {}

    def split(self, role: str) -> EncodedSplit:
        """The encoded examples playing ``role`` (train, valid or test)."""
        if role not in self.splits:
            table = tokenized_split(self.task, self.split_names[role], self.tokenizer, self.cache_dir)
            if role == "train" and self.train_shots is not None:
                table = self._few_shot(table)
            self.splits[role] = EncodedSplit(table, self.layout, self.tokenizer.pad_id)
        return self.splits[role]

    def _few_shot(self, table: datasets.Dataset) -> datasets.Dataset:
        """``train_shots`` training examples drawn with the run's seed (the few-shot protocol)."""
        if not 0 < self.train_shots <= len(table):
            raise ValueError(f"data.train_shots={self.train_shots} outside 1..{len(table)} training examples")
        chosen = np.random.default_rng(self.seed).choice(len(table), self.train_shots, replace=False)
        return table.select(sorted(chosen.tolist()))

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        split = self.split(name)
        trainer = self.trainer
        sampler = TokenBudgetBatchSampler(
            split.lengths,
            split.predicted,
            max_tokens=self.max_tokens,
            batch_size=self.batch_size,
            shuffle=shuffle,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
            update_freq=trainer.accumulate_grad_batches if trainer and shuffle else 1,
        )
        return DataLoader(split, batch_sampler=sampler, collate_fn=_collated, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
