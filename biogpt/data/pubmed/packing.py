"""The pre-training token stream: a corpus dataset packed into fixed-size blocks of a flat uint16 file.

``python -m biogpt.data.pubmed.packing --corpus DIR --out DIR`` reads a ``datasets`` dataset with a ``text``
column (what :mod:`biogpt.data.pubmed.corpus` writes), tokenizes it in worker processes and writes, under
``--out``, ``train.bin`` and ``valid.bin`` (raw uint16 token ids, read back with ``np.memmap``) and
``index.json`` (:class:`PackedIndex`).

The stream is fairseq's ``--sample-break-mode none``: every document's tokens followed by ``</s>``,
concatenated, with one leading ``</s>`` (fairseq's ``TokenBlockDataset`` prepends it as the source of
the first block): ``</s> d1 </s> d2 </s> ...``. Block ``i`` predicts the ``tokens_per_sample`` tokens
``stream[i*T + 1 : (i+1)*T + 1]`` from the ``T`` tokens before each, so every token after the leading
``</s>`` is predicted exactly once, as in fairseq, where each block's first token is predicted from
the previous block's last one. The tail. fairseq keeps a shorter last block; here the predicted
tokens after the last full block (fewer than ``T``, at most one per split: ~2e-7 of a 4B-token
corpus) are kept in the file but belong to no block, and are counted as ``tail_tokens``. Full blocks
only keep every micro-batch the same shape and free of padding, and so every update the same size.

Train/valid split. A document goes to valid when a BLAKE2b hash of its id (the ``pmid`` column by
default) falls in the lowest ``valid_fraction`` of the hash range. It depends on nothing but the id: it
is the same on every run, machine and Python version, whatever the order or size of the corpus, so a
PMID stays on its side when the corpus grows with new update files.

Scale (15M abstracts, ~4B tokens). Workers (``num_proc``) each open the dataset (memory-mapped
Arrow) and encode chunks of ``CHUNK_DOCUMENTS`` rows; the parent receives the chunks in order and
appends them to the two files, so memory holds a few chunks and output is deterministic whatever
``num_proc``. Unlike ``Dataset.map`` (:mod:`biogpt.tokenizer.parallel`), nothing else touches the disk:
its Arrow cache of int64 id lists would be a second, 4x larger copy of the corpus (~32 GB). Outputs
are written as ``*.tmp`` and renamed at the end, ``index.json`` last, so a directory with an index is
complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from biogpt.errors import DataFileError, MissingFileError
from biogpt.textfiles import output_directory
from biogpt.tokenizer import BioGPTTokenizer

logger = logging.getLogger(__name__)

INDEX_FILE = "index.json"
FORMAT = "biogpt-packed-v1"
SPLITS = ("train", "valid")
DTYPE = np.uint16
CHUNK_DOCUMENTS = 1000
PROGRESS_EVERY_CHUNKS = 100


@dataclass(frozen=True)
class SplitStats:
    """One split's file and what it holds; ``tokens`` counts the leading ``</s>``."""

    file: str
    documents: int
    tokens: int
    blocks: int
    tail_tokens: int


@dataclass(frozen=True)
class PackedIndex:
    """``index.json``: enough to read the files and to check they match the tokenizer in use."""

    format: str
    dtype: str
    tokens_per_sample: int
    eos_id: int
    vocab_size: int
    vocab_hash: str
    valid_fraction: float
    id_column: str
    splits: dict[str, SplitStats]

    @classmethod
    def read(cls, directory: str | Path) -> PackedIndex:
        path = Path(directory) / INDEX_FILE
        if not path.is_file():
            raise MissingFileError(
                f"no packed corpus at {directory} (missing {INDEX_FILE}); "
                "build one with: python -m biogpt.data.pubmed.packing --corpus DIR --out DIR"
            )
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataFileError(f"{path}: not valid JSON ({error})") from None
        written = values.get("format") if isinstance(values, dict) else None
        if written != FORMAT:
            raise DataFileError(
                f"{path}: format {written!r}, expected {FORMAT!r} (an index that "
                "python -m biogpt.data.pubmed.packing writes)"
            )
        missing = [f.name for f in fields(cls) if f.name not in values]
        splits = values.get("splits")
        if missing or not isinstance(splits, dict):
            raise DataFileError(f"{path}: an incomplete index, without {', '.join(missing) or 'its splits'}")
        try:
            values["splits"] = {name: SplitStats(**stats) for name, stats in splits.items()}
        except TypeError as error:
            raise DataFileError(f"{path}: a split's statistics do not read ({error})") from None
        return cls(**{f.name: values[f.name] for f in fields(cls)})


class PackedSplit:
    """Blocks of one split, read from the memory-mapped file (opened lazily: picklable for workers)."""

    def __init__(self, directory: str | Path, split: str) -> None:
        self.index = PackedIndex.read(directory)
        if split not in self.index.splits:
            raise KeyError(f"split {split!r} not in {sorted(self.index.splits)}")
        self.path = Path(directory) / self.index.splits[split].file
        self.stats = self.index.splits[split]
        self.tokens_per_sample = self.index.tokens_per_sample
        self._tokens: np.memmap | None = None

    def __len__(self) -> int:
        return self.stats.blocks

    @property
    def tokens(self) -> np.memmap:
        if self._tokens is None:
            self._tokens = np.memmap(self.path, dtype=DTYPE, mode="r", shape=(self.stats.tokens,))
        return self._tokens

    def windows(self, blocks: Sequence[int]) -> np.ndarray:
        """``[len(blocks), T + 1]`` token windows: inputs are ``[:, :-1]``, their next tokens ``[:, 1:]``."""
        size = self.tokens_per_sample
        starts = np.asarray(blocks, dtype=np.int64) * size
        if len(starts) and (starts.min() < 0 or starts.max() >= len(self) * size):
            raise IndexError(f"block index outside 0..{len(self) - 1}")
        return np.stack([self.tokens[start : start + size + 1] for start in starts]).astype(np.int64)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tokens": None}


def check_fits_uint16(tokenizer: BioGPTTokenizer, name: str) -> None:
    limit = np.iinfo(DTYPE).max + 1
    if tokenizer.vocab_size > limit:
        raise ValueError(
            f"vocabulary {name} has {tokenizer.vocab_size:,} ids; packed corpora store uint16 ids "
            f"(at most {limit:,})"
        )


def is_valid_document(document_id: str, valid_fraction: float) -> bool:
    """The document's side of the split: a hash of its id alone (see the module docstring)."""
    digest = hashlib.blake2b(document_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < valid_fraction * 2**64


@dataclass
class _Encoded:
    """One chunk's streams (documents each followed by ``</s>``) and document counts, per split."""

    streams: dict[str, np.ndarray]
    documents: dict[str, int]


class _ChunkEncoder:
    """Encodes row ranges of the corpus; one per worker process, which opens the dataset once."""

    def __init__(
        self, corpus_dir: str, tokenizer: BioGPTTokenizer, text_column: str, id_column: str, fraction: float
    ) -> None:
        import datasets

        self.dataset = datasets.load_from_disk(corpus_dir).select_columns([id_column, text_column])
        self.tokenizer = tokenizer
        self.text_column = text_column
        self.id_column = id_column
        self.fraction = fraction

    def __call__(self, rows: tuple[int, int]) -> _Encoded:
        chunk = self.dataset[rows[0] : rows[1]]
        encoded = self.tokenizer.encode_batch(chunk[self.text_column])
        eos = self.tokenizer.eos_id
        parts: dict[str, list[int]] = {split: [] for split in SPLITS}
        documents = dict.fromkeys(SPLITS, 0)
        for document_id, ids in zip(chunk[self.id_column], encoded, strict=True):
            split = "valid" if is_valid_document(str(document_id), self.fraction) else "train"
            parts[split].extend(ids)
            parts[split].append(eos)
            documents[split] += 1
        return _Encoded({s: np.asarray(p, dtype=DTYPE) for s, p in parts.items()}, documents)


_worker_encoder: _ChunkEncoder | None = None


def _init_worker(*args: Any) -> None:
    global _worker_encoder
    _worker_encoder = _ChunkEncoder(*args)


def _encode_in_worker(rows: tuple[int, int]) -> _Encoded:
    assert _worker_encoder is not None
    return _worker_encoder(rows)


def _encoded_chunks(encoder_args: tuple[Any, ...], rows: int, num_proc: int) -> Iterator[_Encoded]:
    """Every chunk's encoding, in corpus order; ``num_proc`` > 1 encodes in spawned worker processes."""
    ranges = [(start, min(start + CHUNK_DOCUMENTS, rows)) for start in range(0, rows, CHUNK_DOCUMENTS)]
    if num_proc <= 1:
        encoder = _ChunkEncoder(*encoder_args)
        yield from map(encoder, ranges)
        return
    # spawn: the parent may hold threads (Arrow, torch) that fork would copy in a locked state.
    context = multiprocessing.get_context("spawn")
    with context.Pool(num_proc, initializer=_init_worker, initargs=encoder_args) as pool:
        yield from pool.imap(_encode_in_worker, ranges)


def pack_corpus(
    corpus_dir: str | Path,
    out_dir: str | Path,
    tokenizer: BioGPTTokenizer,
    *,
    vocabulary_name: str = "in use",
    tokens_per_sample: int = 1024,
    valid_fraction: float = 0.005,
    num_proc: int = 1,
    text_column: str = "text",
    id_column: str = "pmid",
) -> PackedIndex:
    """Tokenize and pack ``corpus_dir`` into ``out_dir``; returns the index written there."""
    import datasets

    if tokens_per_sample < 2:
        raise ValueError(f"tokens_per_sample must be at least 2, got {tokens_per_sample}")
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    check_fits_uint16(tokenizer, vocabulary_name)
    corpus = datasets.load_from_disk(str(corpus_dir))
    if not isinstance(corpus, datasets.Dataset):
        raise TypeError(f"{corpus_dir} holds a {type(corpus).__name__}, expected one Dataset")
    missing = [column for column in (text_column, id_column) if column not in corpus.column_names]
    if missing:
        raise KeyError(f"{corpus_dir}: no column(s) {missing}; columns are {corpus.column_names}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX_FILE).unlink(missing_ok=True)  # the directory is incomplete until the new index lands
    encoder_args = (str(corpus_dir), tokenizer, text_column, id_column, valid_fraction)
    temporary = {split: out / f"{split}.bin.tmp" for split in SPLITS}
    tokens = dict.fromkeys(SPLITS, 1)
    documents = dict.fromkeys(SPLITS, 0)
    leading_eos = np.asarray([tokenizer.eos_id], dtype=DTYPE)
    with ExitStack() as stack:
        files = {split: stack.enter_context(open(path, "wb")) for split, path in temporary.items()}
        for handle in files.values():
            leading_eos.tofile(handle)
        for number, chunk in enumerate(_encoded_chunks(encoder_args, len(corpus), num_proc), start=1):
            for split in SPLITS:
                chunk.streams[split].tofile(files[split])
                tokens[split] += len(chunk.streams[split])
                documents[split] += chunk.documents[split]
            if number % PROGRESS_EVERY_CHUNKS == 0:
                logger.info("packed %s of %s documents", f"{sum(documents.values()):,}", f"{len(corpus):,}")
    splits = {}
    for split in SPLITS:
        os.replace(temporary[split], out / f"{split}.bin")
        blocks, tail = divmod(tokens[split] - 1, tokens_per_sample)
        splits[split] = SplitStats(f"{split}.bin", documents[split], tokens[split], blocks, tail)
    index = PackedIndex(
        format=FORMAT,
        dtype=np.dtype(DTYPE).name,
        tokens_per_sample=tokens_per_sample,
        eos_id=tokenizer.eos_id,
        vocab_size=tokenizer.vocab_size,
        vocab_hash=tokenizer.fingerprint(),
        valid_fraction=valid_fraction,
        id_column=id_column,
        splits=splits,
    )
    _write_atomically(out / INDEX_FILE, json.dumps(asdict(index), indent=2) + "\n")
    return index


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m biogpt.data.pubmed.packing",
        description="Tokenize a corpus dataset (text column) and pack it into uint16 pre-training blocks.",
    )
    parser.add_argument("--corpus", required=True, type=Path, help="datasets directory (save_to_disk)")
    parser.add_argument("--out", required=True, type=output_directory, help="output directory")
    parser.add_argument(
        "--vocab",
        default=str(Path(os.environ.get("BIOGPT_DATA", "data")) / "vocab" / "biogpt"),
        help="tokenizer: fairseq dir (bpecodes + dict.txt), HF dir or hub id",
    )
    parser.add_argument("--tokens-per-sample", type=int, default=1024)
    parser.add_argument("--valid-fraction", type=float, default=0.005)
    parser.add_argument("--num-proc", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--id-column", default="pmid", help="document id that decides the split")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    started = time.perf_counter()
    try:
        index = pack_corpus(
            args.corpus,
            args.out,
            BioGPTTokenizer.from_pretrained(args.vocab),
            vocabulary_name=args.vocab,
            tokens_per_sample=args.tokens_per_sample,
            valid_fraction=args.valid_fraction,
            num_proc=args.num_proc,
            text_column=args.text_column,
            id_column=args.id_column,
        )
    except (FileNotFoundError, KeyError, TypeError, ValueError) as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    for split, stats in index.splits.items():
        print(
            f"{split}: {stats.documents:,} documents, {stats.tokens:,} tokens, "
            f"{stats.blocks:,} blocks of {index.tokens_per_sample}, {stats.tail_tokens:,} tail tokens unused"
        )
    print(f"packed in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
