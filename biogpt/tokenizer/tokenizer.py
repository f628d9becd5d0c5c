"""The BioGPT tokenizer: exact ids of the release's Moses + fastBPE pipeline, fast.

Ids are those of ``transformers.BioGptTokenizer`` on the same vocabulary (which reproduces fairseq):
text -> Moses tokens (:mod:`biogpt.tokenizer.moses`) -> BPE pieces (``tokenizers`` BPE with the release
merges) -> dictionary ids, pieces missing from the dictionary becoming ``<unk>``. Encoding caches the ids
of each whitespace-separated chunk, so a warm encode is mostly one dict lookup per word.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from tokenizers.decoders import BPEDecoder
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import WhitespaceSplit

from biogpt.errors import DataFileError, MissingFileError
from biogpt.textfiles import read_json
from biogpt.tokenizer import moses
from biogpt.tokenizer.cache import BoundedCache
from biogpt.tokenizer.vocab import END_OF_WORD, SPECIAL_TOKENS, Vocabulary, read_vocabulary, write_huggingface

CONFIG_FILE = "tokenizer_config.json"
TOKENIZERS_FILE = "tokenizer.json"


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected text as str, got {type(text).__name__}")
    return text


def _tokens(chunk: moses.Chunk[str]) -> tuple[str, ...]:
    """All the Moses tokens a chunk may produce."""
    return chunk.body + chunk.keep + chunk.split if isinstance(chunk, moses.Pending) else chunk


def _build_bpe(vocabulary: Vocabulary) -> tuple[BPE, list[int]]:
    """The ``tokenizers`` BPE model and the map from its ids to dictionary ids.

    ``tokenizers`` requires both parts and the result of every merge to be in its vocabulary, but the
    release has merges whose pieces are not in the dictionary (e.g. ``-@</w>``). The reference applies
    such merges and maps the resulting piece to ``<unk>``; to do the same, those pieces get extra model
    ids past the dictionary, which the returned map sends to ``<unk>``.
    """
    model_vocab = {piece: index for index, piece in enumerate(vocabulary.pieces)}
    for first, second in vocabulary.merges:
        for piece in (first, second, first + second):
            model_vocab.setdefault(piece, len(model_vocab))
    unk = model_vocab["<unk>"]
    to_dictionary = list(range(len(vocabulary.pieces))) + [unk] * (len(model_vocab) - len(vocabulary.pieces))
    model = BPE(
        vocab=model_vocab,
        merges=list(vocabulary.merges),
        unk_token="<unk>",
        end_of_word_suffix=END_OF_WORD,
        fuse_unk=False,
    )
    return model, to_dictionary


class BioGPTTokenizer:
    """Moses + BPE tokenizer of BioGPT with the release's ids; see the module docstring.

    Literal special tokens (``</s>``...) and added tokens in the text are matched first and become single
    ids, the text between them being tokenized on its own, exactly as ``BioGptTokenizer`` does.
    """

    def __init__(self, vocabulary: Vocabulary, cache_size: int = 1 << 18) -> None:
        self.vocabulary = vocabulary
        self._cache_size = cache_size
        self._pieces: list[str] = list(vocabulary.pieces)
        self._ids: dict[str, int] = {piece: index for index, piece in enumerate(self._pieces)}
        self._added: list[str] = []
        self._bpe, self._to_dictionary = _build_bpe(vocabulary)
        self._token_ids: BoundedCache[str, tuple[int, ...]] = BoundedCache(self._bpe_ids, cache_size)
        self._cache: BoundedCache[str, moses.Chunk[int]] = BoundedCache(self._analyse, cache_size)
        self._split_pattern = self._compile_split_pattern()

    # ----------------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls, source: str | Path, *, revision: str | None = None, cache_dir: str | Path | None = None
    ) -> BioGPTTokenizer:
        """Load from a fairseq release directory (``bpecodes`` + ``dict.txt``), a Hugging Face directory
        (``vocab.json`` + ``merges.txt``, plus added tokens from ``tokenizer_config.json``), or a Hugging
        Face hub id (downloaded through the hub cache, so ``HF_HUB_OFFLINE=1`` works once cached)."""
        directory = Path(source)
        if not directory.is_dir():
            directory = _download(str(source), revision=revision, cache_dir=cache_dir)
        tokenizer = cls(read_vocabulary(directory))
        tokenizer.add_tokens(_read_added_tokens(directory / CONFIG_FILE, len(tokenizer.vocabulary.pieces)))
        return tokenizer

    def save_pretrained(self, directory: str | Path) -> list[Path]:
        """Write ``vocab.json`` + ``merges.txt`` + ``tokenizer_config.json`` (what
        ``transformers.BioGptTokenizer.from_pretrained`` reads, added tokens included) and
        ``tokenizer.json``, the ``tokenizers`` serialization of the BPE stage.

        ``tokenizer.json`` takes Moses-tokenized text; its model ids past the dictionary are merge
        results missing from the dictionary, which mean ``<unk>``.
        """
        directory = Path(directory)
        paths = write_huggingface(directory, self.vocabulary)
        config = {
            "tokenizer_class": "BioGptTokenizer",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "sep_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "added_tokens_decoder": {
                str(self._ids[token]): {
                    "content": token,
                    "lstrip": False,
                    "normalized": token not in SPECIAL_TOKENS,
                    "rstrip": False,
                    "single_word": False,
                    "special": token in SPECIAL_TOKENS,
                }
                for token in (*SPECIAL_TOKENS, *self._added)
            },
        }
        config_path = directory / CONFIG_FILE
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pipeline = Tokenizer(self._bpe)
        pipeline.pre_tokenizer = WhitespaceSplit()
        pipeline.decoder = BPEDecoder(suffix=END_OF_WORD)
        tokenizers_path = directory / TOKENIZERS_FILE
        pipeline.save(str(tokenizers_path))
        return [*paths, config_path, tokenizers_path]

    # ------------------------------------------------------------------------------------- vocabulary
    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included (the embedding size a model needs)."""
        return len(self._pieces)

    def __len__(self) -> int:
        return len(self._pieces)

    @property
    def bos_id(self) -> int:
        return self._ids["<s>"]

    @property
    def pad_id(self) -> int:
        return self._ids["<pad>"]

    @property
    def eos_id(self) -> int:
        return self._ids["</s>"]

    @property
    def unk_id(self) -> int:
        return self._ids["<unk>"]

    @property
    def added_tokens(self) -> tuple[str, ...]:
        return tuple(self._added)

    def token_to_id(self, piece: str) -> int | None:
        """Id of a vocabulary piece (``the</w>``, ``hel``) or added token; None if unknown."""
        return self._ids.get(piece)

    def id_to_token(self, index: int) -> str:
        return self._pieces[index]

    def add_tokens(self, tokens: Iterable[str]) -> int:
        """Append tokens (e.g. prompt tokens ``learned1``...) after the vocabulary; returns how many were new.

        An added token found anywhere in a text becomes its single id, as the release's dictionary does
        for its prompt words; tokens already known are skipped (as ``BioGptTokenizer.add_tokens`` does).
        """
        added = 0
        for token in tokens:
            _require_str(token)
            if not token or any(char.isspace() for char in token):
                raise ValueError(f"added token {token!r} must be non-empty and contain no whitespace")
            if token in self._ids:
                continue
            self._ids[token] = len(self._pieces)
            self._pieces.append(token)
            self._added.append(token)
            added += 1
        self._split_pattern = self._compile_split_pattern()
        return added

    def _compile_split_pattern(self) -> re.Pattern[str]:
        """Alternation of the special and added tokens, longest first so the longest match wins."""
        literals = sorted((*SPECIAL_TOKENS, *self._added), key=len, reverse=True)
        return re.compile("|".join(map(re.escape, literals)))

    # --------------------------------------------------------------------------------------- encoding
    def _bpe_ids(self, tokens: list[str]) -> list[tuple[int, ...]]:
        """Dictionary ids of the BPE pieces of each Moses token."""
        to_dictionary = self._to_dictionary
        tokenize = self._bpe.tokenize
        return [tuple([to_dictionary[piece.id] for piece in tokenize(token)]) for token in tokens]

    def _piece_ids(self, tokens: tuple[str, ...]) -> tuple[int, ...]:
        """Dictionary ids of the BPE pieces of Moses tokens (memoized per token)."""
        return tuple([index for ids in self._token_ids.get_many(list(tokens)) for index in ids])

    def _analyse(self, chunks: list[str]) -> list[moses.Chunk[int]]:
        """Mid-text ids of new chunks: Moses over all of them at once, then BPE over their new tokens."""
        analysed = moses.analyse_chunks(chunks)
        tokens = list({token for chunk in analysed for token in _tokens(chunk)})
        token_ids = dict(zip(tokens, self._token_ids.get_many(tokens), strict=True))

        def piece_ids(tokens: tuple[str, ...]) -> tuple[int, ...]:
            return tuple([index for token in tokens for index in token_ids[token]])

        # inlined convert_chunk: most chunks are a plain tuple, often of a single token
        return [
            (token_ids[chunk[0]] if len(chunk) == 1 else piece_ids(chunk))
            if chunk.__class__ is tuple
            else moses.convert_chunk(chunk, piece_ids)
            for chunk in analysed
        ]

    def _edge_chunk(self, chunk: str, first: bool, last: bool) -> moses.Chunk[int]:
        return moses.convert_chunk(moses.analyse_chunk(chunk, first, last), self._piece_ids)

    def _encode_plain(self, text: str) -> list[int]:
        """Ids of text that holds no special or added token."""
        chunks = moses.split_chunks(text)
        if chunks is None:
            return list(self._piece_ids(tuple(moses.tokenize_text(text))))
        return moses.join_chunks(chunks, self._cache.get_many(chunks), self._edge_chunk)

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` without special tokens, as ``BioGptTokenizer(text, add_special_tokens=False)``."""
        _require_str(text)
        if self._split_pattern.search(text) is None:
            return self._encode_plain(text)
        ids: list[int] = []
        start = 0
        for match in self._split_pattern.finditer(text):
            ids += self._encode_plain(text[start : match.start()])
            ids.append(self._ids[match.group()])
            start = match.end()
        ids += self._encode_plain(text[start:])
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` of each text."""
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single str")
        return [self.encode(text) for text in texts]

    def __call__(
        self,
        texts: str | Sequence[str],
        *,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_max_length: bool = False,
        prepend_eos: bool = False,
        append_eos: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Encode a batch into right-padded ``input_ids`` and ``attention_mask`` (long tensors).

        ``prepend_eos`` starts each sequence with ``</s>`` (BioGPT/fairseq's sequence start, what
        ``BioGptTokenizer`` adds as its special token); ``append_eos`` ends it with ``</s>`` (fairseq's line
        end). With ``max_length``, a longer sequence is an error unless ``truncation`` is set, which keeps
        the first tokens and the requested ``</s>`` markers; ``pad_to_max_length`` pads every row to
        ``max_length`` instead of to the longest row.
        """
        batch = [texts] if isinstance(texts, str) else texts
        prefix = [self.eos_id] if prepend_eos else []
        suffix = [self.eos_id] if append_eos else []
        rows = []
        for text in batch:
            ids = self.encode(text)
            length = len(prefix) + len(ids) + len(suffix)
            if max_length is not None and length > max_length:
                if not truncation:
                    raise ValueError(
                        f"text encodes to {length} ids > max_length={max_length}; pass truncation=True"
                    )
                ids = ids[: max(0, max_length - len(prefix) - len(suffix))]
            rows.append(prefix + ids + suffix)
        if pad_to_max_length and max_length is None:
            raise ValueError("pad_to_max_length needs max_length")
        width = max_length if pad_to_max_length else max((len(row) for row in rows), default=0)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def fingerprint(self) -> str:
        """Changes whenever any id the tokenizer could produce changes."""
        content = json.dumps([self.vocabulary.pieces, self.vocabulary.merges, self.added_tokens])
        return hashlib.sha256(content.encode()).hexdigest()[:16]

    def special_wrapping(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """None: BioGPT is decoder-only, and its sequences start with ``</s>`` (see the data layout)."""
        return (), ()

    # --------------------------------------------------------------------------------------- decoding
    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: special ids dropped, BPE pieces joined into words, Moses-detokenized.

        Equals ``BioGptTokenizer.decode(ids, skip_special_tokens=True)``, except that an added token
        decodes as a word of its own (``BioGptTokenizer`` glues it to the next word).
        """
        skip = {self._ids[token] for token in SPECIAL_TOKENS}
        pieces = []
        for index in ids:
            if isinstance(index, torch.Tensor):
                index = index.item()
            if not isinstance(index, int) or not 0 <= index < len(self._pieces):
                raise ValueError(f"invalid token id {index!r} (vocabulary has {len(self._pieces)} ids)")
            if index not in skip:
                piece = self._pieces[index]
                pieces.append(piece if index < len(self.vocabulary.pieces) else piece + END_OF_WORD)
        words = "".join(pieces).replace(END_OF_WORD, " ").split()
        return moses.detokenize(words)

    # ------------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        """Pickle the vocabulary only, as two newline-joined strings (pieces and merges hold no whitespace):
        ``datasets.map`` pickles the tokenizer with ``dill`` to fingerprint the map and once more per worker,
        and strings pickle in C where tens of thousands of small objects cost ``dill`` about a second each
        time. Worker processes rebuild the BPE model (~0.15 s) and start a fresh cache."""
        return {
            "pieces": "\n".join(self.vocabulary.pieces),
            "merges": "\n".join(f"{first} {second}" for first, second in self.vocabulary.merges),
            "added": "\n".join(self._added),
            "cache_size": self._cache_size,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        merges = tuple(tuple(line.split(" ")) for line in state["merges"].split("\n") if line)
        vocabulary = Vocabulary(tuple(state["pieces"].split("\n")), merges)  # type: ignore[arg-type]
        self.__init__(vocabulary, state["cache_size"])  # type: ignore[misc]
        self.add_tokens(state["added"].split("\n") if state["added"] else [])


def _download(repo_id: str, *, revision: str | None, cache_dir: str | Path | None) -> Path:
    """Fetch ``vocab.json`` + ``merges.txt`` (+ ``tokenizer_config.json`` if present) from the hub."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HFValidationError, LocalEntryNotFoundError

    def fetch(filename: str) -> Path:
        return Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir))

    try:
        vocab = fetch("vocab.json")
        fetch("merges.txt")
    except HFValidationError as error:
        raise MissingFileError(f"{repo_id}: no such directory, and not a valid hub repository id") from error
    except LocalEntryNotFoundError as error:
        raise OSError(
            f"{repo_id}: not a local directory and not in the Hugging Face cache, and the hub cannot be"
            " reached (offline, e.g. HF_HUB_OFFLINE=1); download it once online or pass a directory"
        ) from error
    try:
        fetch(CONFIG_FILE)
    except (EntryNotFoundError, LocalEntryNotFoundError):
        pass  # optional: only needed for added tokens
    return vocab.parent


def _read_added_tokens(path: Path, base_size: int) -> list[str]:
    """Added tokens of a ``tokenizer_config.json`` (``added_tokens_decoder`` ids from ``base_size`` on)."""
    if not path.is_file():
        return []
    config = read_json(path, "a tokenizer_config.json object")
    try:
        decoder = config.get("added_tokens_decoder", {})
        entries = sorted((int(index), entry["content"]) for index, entry in decoder.items())
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise DataFileError(f"{path}: malformed added_tokens_decoder ({error})") from error
    added = [(index, content) for index, content in entries if index >= base_size]
    expected = list(range(base_size, base_size + len(added)))
    if [index for index, _ in added] != expected:
        raise DataFileError(
            f"{path}: added token ids must continue the vocabulary at {base_size} without gaps"
        )
    return [content for _, content in added]
