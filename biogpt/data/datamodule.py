"""The LightningDataModule of the downstream tasks: raw release -> cached token ids -> planned batches.

One module serves the five datasets: the task config (see :mod:`biogpt.data.tasks`) says which raw
files to read and how to render them; tokenized splits come from a shared Arrow cache keyed by the
tokenizer, the task settings and the split (:mod:`biogpt.data.tokenized`), so a sweep tokenizes each
corpus once.
Truncation and prompt insertion happen per batch (they depend on the prompt, which sweeps vary).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from biogpt.data.batching import MicroBatch, TokenBudgetBatchSampler
from biogpt.data.resume import ResumableTrainData, already_collated
from biogpt.data.sequences import IGNORE_INDEX, SequenceLayout, right_padded
from biogpt.data.settings import DataSettings
from biogpt.data.tasks import CustomTaskSettings, TaskSettings
from biogpt.data.tokenized import tokenized_split
from biogpt.tokenizer.protocol import Tokenizer

logger = logging.getLogger(__name__)


class EncodedSplit(Dataset):
    """Tokenized examples laid out by a :class:`SequenceLayout`; yields whole padded micro-batches.

    With an encoder-decoder layout a batch also holds the right-padded encoder inputs (``encoder_ids``,
    ``encoder_mask``), and an example's size for the token budget is its longer side, as fairseq counts
    a sentence pair.
    """

    def __init__(self, table: datasets.Dataset, layout: SequenceLayout, pad_id: int) -> None:
        self.ids: list[str] = list(table["id"])
        self.source_ids: list[list[int]] = list(table["source_ids"])
        self.target_ids: list[list[int]] = list(table["target_ids"])
        self.layout = layout
        self.pad_id = pad_id
        pairs = [layout.training_pair(s, t) for s, t in zip(self.source_ids, self.target_ids, strict=True)]
        lengths = [len(inputs) for inputs, _ in pairs]
        if layout.encoder is not None:
            lengths = [
                max(length, len(layout.encoder_input(source)))
                for length, source in zip(lengths, self.source_ids, strict=True)
            ]
        self.lengths = np.array(lengths)
        self.predicted = np.array([sum(t != IGNORE_INDEX for t in targets) for _, targets in pairs])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__(MicroBatch((index,), int(self.predicted[index])))

    def __getitems__(self, batch: MicroBatch) -> dict[str, Any]:
        """The padded tensors of a planned micro-batch (the DataLoader hands us the whole plan)."""
        pairs = [self.layout.training_pair(self.source_ids[i], self.target_ids[i]) for i in batch.indices]
        input_ids, attention_mask = right_padded([inputs for inputs, _ in pairs], self.pad_id)
        targets, _ = right_padded([labels for _, labels in pairs], IGNORE_INDEX)
        tensors = {"input_ids": input_ids, "attention_mask": attention_mask, "targets": targets}
        if self.layout.encoder is not None:
            encoder_rows = [self.layout.encoder_input(self.source_ids[i]) for i in batch.indices]
            tensors["encoder_ids"], tensors["encoder_mask"] = right_padded(encoder_rows, self.pad_id)
        return {
            **tensors,
            "update_tokens": torch.tensor(batch.update_tokens),
            "loss_weight": torch.tensor(batch.loss_weight),
            "ids": [self.ids[i] for i in batch.indices],
        }


class TaskDataModule(ResumableTrainData, L.LightningDataModule):
    """Train/valid/test loaders of one task, batched by token budget (or fixed size) as fairseq does.

    The tokenizer and the sequence layout, which depend on the model and the prompt, arrive through
    :meth:`connect` (as in litgpt's data modules). Training resumes mid-epoch
    (:mod:`biogpt.data.resume`).
    """

    def __init__(self, task: TaskSettings, settings: DataSettings, *, seed: int = 1) -> None:
        super().__init__()
        self.task = task
        self.settings = settings
        self.seed = seed
        self.cache_dir = Path(settings.cache_dir).expanduser()
        self.split_names = {"train": "train", "valid": "valid", "test": "test"} | dict(settings.splits)
        self.tokenizer: Tokenizer | None = None
        self.layout: SequenceLayout | None = None
        self.encoded: dict[str, EncodedSplit] = {}

    def connect(self, tokenizer: Tokenizer, layout: SequenceLayout) -> None:
        """Tokenize with ``tokenizer`` and lay sequences out with ``layout``."""
        self.tokenizer = tokenizer
        self.layout = layout
        self.encoded = {}

    def split(self, role: str) -> EncodedSplit:
        """The encoded examples playing ``role`` (train, valid or test)."""
        if self.tokenizer is None or self.layout is None:
            raise RuntimeError("TaskDataModule.connect(tokenizer, layout) must be called before loading data")
        if role not in self.encoded:
            table = tokenized_split(self.task, self.split_names[role], self.tokenizer, self.cache_dir)
            if role == "train" and isinstance(self.task, CustomTaskSettings):
                table = self._within_positions(table)
            if role == "train" and self.settings.train_shots is not None:
                table = self._few_shot(table)
            self.encoded[role] = EncodedSplit(table, self.layout, self.tokenizer.pad_id)
        return self.encoded[role]

    def _within_positions(self, table: datasets.Dataset) -> datasets.Dataset:
        """A custom corpus's training examples that the layout reads uncut; the others are left out with
        a warning that counts and names them (the paper's tasks train on cut examples, as released)."""
        assert self.layout is not None
        lengths = zip(table["id"], table["source_ids"], table["target_ids"], strict=True)
        over = {example_id for example_id, s, t in lengths if not self.layout.fits(len(s), len(t))}
        if not over:
            return table
        logger.warning(
            "%d training examples over the model's positions left out (biogpt-data validate model=... names "
            "them all): %s",
            len(over),
            ", ".join(sorted(over)[:10]),
        )
        return table.filter(lambda row: row["id"] not in over, keep_in_memory=True)

    def _few_shot(self, table: datasets.Dataset) -> datasets.Dataset:
        """``train_shots`` training examples drawn with the run's seed (the few-shot protocol)."""
        shots = self.settings.train_shots
        if not 0 < shots <= len(table):
            raise ValueError(f"data.train_shots={shots} outside 1..{len(table)} training examples")
        chosen = np.random.default_rng(self.seed).choice(len(table), shots, replace=False)
        return table.select(sorted(chosen.tolist()))

    def _sampler(self, name: str, shuffle: bool) -> TokenBudgetBatchSampler:
        split = self.split(name)
        trainer = self.trainer
        return TokenBudgetBatchSampler(
            split.lengths,
            split.predicted,
            max_tokens=self.settings.max_tokens,
            batch_size=self.settings.batch_size,
            shuffle=shuffle,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
            update_freq=trainer.accumulate_grad_batches if trainer and shuffle else 1,
        )

    def _loader(self, name: str, sampler: TokenBudgetBatchSampler) -> DataLoader:
        return DataLoader(
            self.split(name),
            batch_sampler=sampler,
            collate_fn=already_collated,
            num_workers=self.settings.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.resumed(self._sampler("train", shuffle=True)))

    def ordered_dataloader(self, role: str) -> DataLoader:
        """The micro-batches of ``role`` (train, valid or test) in a fixed order, without shuffling or
        resume bookkeeping: for passes that read a split without training on it."""
        return self._loader(role, self._sampler(role, shuffle=False))

    def val_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("valid")

    def test_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("test")
