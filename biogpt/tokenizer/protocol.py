"""What the data pipeline, prompts, generation and run artifacts need of a tokenizer, whatever its family.

:class:`~biogpt.tokenizer.BioGPTTokenizer` (our reimplementation of the release's Moses + fastBPE) and
:class:`~biogpt.tokenizer.family.FamilyTokenizer` (the ``transformers`` families' own tokenizers) both
satisfy it, so a layout, a prompt or a cache key never asks which one it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol


class Tokenizer(Protocol):
    """Text to ids and back, the special ids sequences are built with, and added (prompt) tokens."""

    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included (the embedding rows a model needs)."""

    @property
    def eos_id(self) -> int: ...

    @property
    def pad_id(self) -> int: ...

    @property
    def added_tokens(self) -> tuple[str, ...]:
        """Tokens added after loading or by an earlier fine-tuning (soft-prompt tokens), in id order."""

    def token_to_id(self, piece: str) -> int | None: ...

    def add_tokens(self, tokens: Iterable[str]) -> int:
        """Append the unknown ``tokens`` to the vocabulary; returns how many were added."""

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``, without any special token around it."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, special tokens left out."""

    def save_pretrained(self, directory: str | Path) -> list[Path]: ...

    def fingerprint(self) -> str:
        """Changes whenever any id the tokenizer could produce changes (the tokenized-data cache key)."""

    def special_wrapping(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The special ids the family puts before and after a text given to an encoder (BART
        ``<s> ... </s>``, T5 ``... </s>``)."""
