"""Tokenizing a whole ``datasets.Dataset`` column in worker processes.

Encoding is pure Python, so one process is bound by the GIL; ``Dataset.map(num_proc=...)`` shards the
dataset over processes, each with its own copy of the tokenizer (pickled as its vocabulary, so each
worker rebuilds the BPE model and its own chunk cache) and writes Arrow shards, which scales with cores.
"""

from __future__ import annotations

from typing import Any

import datasets

from biogpt.tokenizer.tokenizer import BioGPTTokenizer


class _EncodeColumn:
    """Picklable batched map function: ``column`` texts -> ``output_column`` id lists."""

    def __init__(self, tokenizer: BioGPTTokenizer, column: str, output_column: str) -> None:
        self.tokenizer = tokenizer
        self.column = column
        self.output_column = output_column

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[list[int]]]:
        return {self.output_column: self.tokenizer.encode_batch(batch[self.column])}


def tokenize_dataset(
    dataset: datasets.Dataset,
    tokenizer: BioGPTTokenizer,
    *,
    column: str = "text",
    output_column: str = "input_ids",
    num_proc: int | None = None,
    batch_size: int = 1000,
    remove_columns: bool = False,
) -> datasets.Dataset:
    """Add ``output_column`` with the token ids (no special tokens) of ``column`` to ``dataset``.

    ``num_proc`` worker processes (None: this process); ``remove_columns`` drops the input columns, which
    saves writing the text again when only ids are needed.
    """
    if column not in dataset.column_names:
        raise KeyError(f"column {column!r} not in dataset columns {dataset.column_names}")
    return dataset.map(
        _EncodeColumn(tokenizer, column, output_column),
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc,
        remove_columns=dataset.column_names if remove_columns else None,
        desc="BioGPT tokenization",
    )
