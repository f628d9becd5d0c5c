"""The ``transformers`` families' own tokenizers (GPT-2 / GPT-Neo / BioMedLM and BART byte-level BPE,
T5 SentencePiece) behind the :class:`~biogpt.tokenizer.protocol.Tokenizer` interface.

Texts are encoded without special tokens: the sequence layout (:mod:`biogpt.data.sequences`) adds the
start token, the family's encoder wrapping (:meth:`FamilyTokenizer.special_wrapping`) and the target's
end-of-sequence token itself, so that every target ends with ``eos`` even where the tokenizer adds none
(GPT-2). A tokenizer without a pad token (GPT-2) pads with its ``eos``: padding is masked out of
attention and loss, so no id gets a new or changed embedding.

A directory holding only GPT-2's ``vocab.json`` + ``merges.txt`` (the raw vocabulary, without
``tokenizer.json``) is read as a byte-level BPE built with ``tokenizers``, the pipeline GPT-2 uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from biogpt.errors import MissingFileError
from biogpt.optional import require_transformers
from biogpt.textfiles import read_json

# GPT-2's one special token: end of text, which also starts texts and stands for unknown bytes.
GPT2_END_OF_TEXT = "<|endoftext|>"
RAW_BPE_FILES = ("vocab.json", "merges.txt")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


class FamilyTokenizer:
    """A ``transformers`` fast tokenizer, used the way the framework's layouts need it."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        if tokenizer.eos_token_id is None:
            raise ValueError(f"{tokenizer.name_or_path}: the tokenizer has no end-of-sequence token")

    @classmethod
    def from_pretrained(cls, source: str | Path) -> FamilyTokenizer:
        """Load a local directory: a saved ``transformers`` tokenizer, or GPT-2's raw ``vocab.json`` +
        ``merges.txt``."""
        directory = Path(source)
        transformers = require_transformers(f"the tokenizer of {source}")
        if any((directory / name).is_file() for name in TOKENIZER_FILES):
            return cls(transformers.AutoTokenizer.from_pretrained(str(directory)))
        if all((directory / name).is_file() for name in RAW_BPE_FILES):
            return cls(byte_level_bpe(directory))
        raise MissingFileError(
            f"{directory}: no tokenizer ({' or '.join(TOKENIZER_FILES)}, or {' + '.join(RAW_BPE_FILES)})"
        )

    # ------------------------------------------------------------------------------------- vocabulary
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return self.eos_id if pad is None else int(pad)

    @property
    def added_tokens(self) -> tuple[str, ...]:
        special = set(self.tokenizer.all_special_tokens)
        added = sorted(self.tokenizer.get_added_vocab().items(), key=lambda item: item[1])
        return tuple(token for token, _ in added if token not in special)

    def token_to_id(self, piece: str) -> int | None:
        index = self.tokenizer.get_vocab().get(piece)
        return None if index is None else int(index)

    def add_tokens(self, tokens: Iterable[str]) -> int:
        return int(self.tokenizer.add_tokens(list(tokens)))

    # ----------------------------------------------------------------------------------- en/decoding
    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [list(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def decode(self, ids: Iterable[int]) -> str:
        return str(
            self.tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)
        )

    def special_wrapping(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Where the family's specials sit around a text, read off the tokenizer's own post-processing."""
        plain = self.encode("a")
        wrapped = list(self.tokenizer("a", add_special_tokens=True)["input_ids"])
        for start in range(len(wrapped) - len(plain) + 1):
            if wrapped[start : start + len(plain)] == plain:
                return tuple(wrapped[:start]), tuple(wrapped[start + len(plain) :])
        raise ValueError(f"{self.tokenizer.name_or_path}: cannot find a text among its special tokens")

    def fingerprint(self) -> str:
        backend = self.tokenizer.backend_tokenizer.to_str()
        specials = [self.eos_id, self.pad_id, self.special_wrapping()]
        content = json.dumps([backend, self.added_tokens, specials])
        return hashlib.sha256(content.encode()).hexdigest()[:16]

    def save_pretrained(self, directory: str | Path) -> list[Path]:
        return [Path(path) for path in self.tokenizer.save_pretrained(str(directory))]


def byte_level_bpe(directory: Path) -> Any:
    """GPT-2's tokenizer from its raw ``vocab.json`` + ``merges.txt``: byte-level pre-tokenization
    (GPT-2's split pattern, no prefix space), BPE, byte-level decoding; ``<|endoftext|>`` special."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocabulary = read_json(directory / "vocab.json", "a JSON object mapping tokens to ids")
    if GPT2_END_OF_TEXT not in vocabulary:
        raise ValueError(
            f"{directory / 'vocab.json'}: no {GPT2_END_OF_TEXT!r} entry (not a GPT-2 vocabulary)"
        )
    pipeline = Tokenizer(models.BPE.from_file(str(directory / "vocab.json"), str(directory / "merges.txt")))
    pipeline.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    pipeline.decoder = decoders.ByteLevel()
    fast = require_transformers(f"the tokenizer of {directory}").PreTrainedTokenizerFast
    return fast(
        tokenizer_object=pipeline,
        bos_token=GPT2_END_OF_TEXT,
        eos_token=GPT2_END_OF_TEXT,
        unk_token=GPT2_END_OF_TEXT,
        name_or_path=str(directory),
    )
