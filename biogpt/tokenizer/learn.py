"""Learning a BioGPT-style vocabulary (fastBPE ``bpecodes`` + fairseq ``dict.txt``) from a corpus.

The paper learned its BPE vocabulary on in-domain PubMed text; a model pre-trained on another corpus (the
shipped demo sample, which may not carry the released vocabulary) needs its own. The pipeline mirrors the
release's: every text is Moses-tokenized exactly as :class:`~biogpt.tokenizer.BioGPTTokenizer` does before
BPE (same special-token splitting, same :class:`~biogpt.tokenizer.moses.MosesTokenizer`), merges are
learned with the ``tokenizers`` BPE trainer (``end_of_word_suffix="</w>"``, the fastBPE convention our
tokenizer reads), and ``dict.txt`` lists every piece the learned BPE produces on the corpus, as
``fairseq-preprocess`` would after ``fastBPE applybpe``.

``python -m biogpt.tokenizer.learn --out DIR --merges N [--min-count K] INPUT...`` reads plain-text files
(one document per line) and/or Hugging Face datasets saved with ``save_to_disk`` (such as the PubMed
corpus of :mod:`biogpt.data.pubmed.corpus`, column ``text``), streaming both.

Output details:

* ``bpecodes``: ``a b count`` per merge in rank order. ``tokenizers`` does not report the pair frequency
  at learning time, so ``count`` is how often the merge applies when the learned BPE segments the corpus,
  which is that frequency except that a run like ``a a a`` counts once, not twice. Neither fastBPE's
  ``applybpe`` nor our reader uses it.
* ``dict.txt``: ``token count`` sorted by descending count then token (fairseq's order), non-final pieces
  spelled ``x@@``. Every piece the codes can output is listed (count 0 where BPE always merges it
  further on the corpus): each character in both forms and each merge result, so a new word made of
  seen characters never needs ``<unk>``. Unlike the release, the dictionary is
  not padded with ``madeupword`` entries.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import Split
from tokenizers.trainers import BpeTrainer

from biogpt.errors import MissingFileError
from biogpt.tokenizer import moses
from biogpt.tokenizer.vocab import END_OF_WORD, FAIRSEQ_CONTINUATION, FAIRSEQ_FILES, HF_FILES, SPECIAL_TOKENS

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["LearnStats", "count_words", "learn_vocabulary", "main", "read_corpus", "train_merges"]

# Literal special tokens become single ids in BioGPTTokenizer.encode, the text around them being
# tokenized on its own; learning splits texts the same way (longest first, as the tokenizer does).
_SPECIAL_SPLIT = re.compile("|".join(map(re.escape, sorted(SPECIAL_TOKENS, key=len, reverse=True))))
_FEED_WORDS = 1 << 16  # words per string handed to the trainer
_DATASET_BATCH = 1000  # rows per Arrow batch read from a dataset


@dataclass
class LearnStats:
    """What :func:`learn_vocabulary` saw and wrote (filled in as it goes)."""

    documents: int = 0
    words: int = 0
    distinct_words: int = 0
    merges: int = 0
    dictionary: int = 0

    @property
    def vocab_size(self) -> int:
        """Number of ids of the learned tokenizer: the four special tokens, then ``dict.txt``."""
        return len(SPECIAL_TOKENS) + self.dictionary


# ---------------------------------------------------------------------------------------------- learning
def count_words(texts: Iterable[str], stats: LearnStats | None = None) -> Counter[str]:
    """Moses tokens of ``texts`` with their counts, tokenized as ``BioGPTTokenizer.encode`` does."""
    stats = LearnStats() if stats is None else stats
    tokenizer = moses.MosesTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        if not isinstance(text, str):
            kind = type(text).__name__
            raise TypeError(f"document {stats.documents + 1}: expected text as str, got {kind}")
        stats.documents += 1
        for part in _SPECIAL_SPLIT.split(text):
            counts.update(tokenizer.tokenize(part))
    stats.words = sum(counts.values())
    stats.distinct_words = len(counts)
    return counts


def _symbols(word: str) -> list[str]:
    """The symbols BPE starts from: the characters of ``word``, the last one carrying ``</w>``."""
    return [*word[:-1], word[-1] + END_OF_WORD]


def _initial_symbols(word_counts: Counter[str]) -> set[str]:
    """Every character form of the corpus: ``x`` where it occurs inside a word, ``x</w>`` at the end."""
    return {symbol for word in word_counts for symbol in _symbols(word)}


def _producible_pieces(symbols: set[str], merges: Sequence[tuple[str, str]]) -> set[str]:
    """Every piece the codes can output on some word: each character in both forms, each merge result.

    On its training corpus BPE may always merge a piece further (``interacti`` inside ``interactions``),
    yet a new word stops there (``interaction``); without the entry that piece would become ``<unk>``.
    """
    characters = {symbol.removesuffix(END_OF_WORD) for symbol in symbols}
    return (
        characters
        | {character + END_OF_WORD for character in characters}
        | {first + second for first, second in merges}
    )


def _piece_symbols(piece: str) -> list[str]:
    """The characters a BPE piece (``</w>`` spelling) was merged from."""
    if piece.endswith(END_OF_WORD):
        return _symbols(piece[: -len(END_OF_WORD)])
    return list(piece)


def _training_text(word_counts: Counter[str]) -> Iterator[str]:
    """Every word as often as it occurs, space-joined in bounded strings: the trainer takes text, not
    counts, and Moses tokens never contain a space."""
    batch: list[str] = []
    for word, count in word_counts.items():
        while count:
            take = min(count, _FEED_WORDS - len(batch))
            batch += itertools.repeat(word, take)
            count -= take
            if len(batch) == _FEED_WORDS:
                yield " ".join(batch)
                batch = []
    if batch:
        yield " ".join(batch)


def train_merges(word_counts: Counter[str], num_merges: int, min_count: int = 1) -> list[tuple[str, str]]:
    """The ``num_merges`` merges (``</w>`` spelling, rank order) the ``tokenizers`` BPE trainer learns on
    ``word_counts``; fewer when no pair occurs ``min_count`` times any more.

    The trainer stops at a vocabulary size, which is the initial symbols plus one new token per merge:
    BPE forms each token by a single merge (fastBPE's ``applybpe`` asserts as much of its codes).

    Determinism: on equal counts the trainer prefers the pair of smaller token ids, and it numbers the
    ``x</w>`` symbols in hash-map order, so two runs could learn different merges
    (huggingface/tokenizers#1794). Declaring them as special tokens, sorted, fixes their ids first.
    """
    symbols = _initial_symbols(word_counts)
    final_symbols = sorted(symbol for symbol in symbols if symbol.endswith(END_OF_WORD))
    alphabet = {symbol.removesuffix(END_OF_WORD) for symbol in symbols}
    trainer = BpeTrainer(
        vocab_size=len(final_symbols) + len(alphabet) + num_merges,
        min_frequency=min_count,
        special_tokens=final_symbols,
        end_of_word_suffix=END_OF_WORD,
        show_progress=False,
    )
    tokenizer = Tokenizer(BPE(end_of_word_suffix=END_OF_WORD))
    tokenizer.pre_tokenizer = Split(" ", behavior="removed")
    tokenizer.train_from_iterator(_training_text(word_counts), trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    # tokenizers < 0.20 serializes a merge as "a b", later versions as ["a", "b"]
    return [tuple(merge.split(" ") if isinstance(merge, str) else merge) for merge in merges]


def _segment(word_counts: Counter[str], symbols: set[str], merges: Sequence[tuple[str, str]]) -> Counter[str]:
    """Counts of the BPE pieces (``</w>`` spelling) of the corpus (initial ``symbols``), segmented by the
    same ``tokenizers`` BPE model that :class:`~biogpt.tokenizer.BioGPTTokenizer` builds from the merges."""
    pieces = sorted(symbols.union(*((first, second, first + second) for first, second in merges)))
    model = BPE(
        vocab={piece: index for index, piece in enumerate(pieces)},
        merges=list(merges),
        end_of_word_suffix=END_OF_WORD,
    )
    counts: Counter[str] = Counter()
    for word, count in word_counts.items():
        for token in model.tokenize(word):
            counts[token.value] += count
    return counts


def _merge_applications(piece_counts: Counter[str], merges: Sequence[tuple[str, str]]) -> list[int]:
    """How often each merge applies when the learned BPE segments the corpus (the ``bpecodes`` count).

    A piece is merged from its own characters only, in the same order wherever it occurs, so replaying
    the merges on each distinct piece (at most the vocabulary size, each short) counts every application
    without segmenting the corpus again. The lowest rank goes first, the leftmost on a tie, as in BPE.
    """
    ranks = {merge: rank for rank, merge in enumerate(merges)}
    applied = [0] * len(merges)
    for piece, count in piece_counts.items():
        symbols = _piece_symbols(piece)
        while len(symbols) > 1:
            pairs = enumerate(itertools.pairwise(symbols))
            rank, index = min((ranks[pair], i) for i, pair in pairs if pair in ranks)
            applied[rank] += count
            symbols[index : index + 2] = [symbols[index] + symbols[index + 1]]
    return applied


def _fairseq_spelling(piece: str) -> str:
    """``x</w>`` (word-final) -> ``x``, ``x`` (non-final) -> ``x@@``."""
    if piece.endswith(END_OF_WORD):
        return piece[: -len(END_OF_WORD)]
    return piece + FAIRSEQ_CONTINUATION


def _check_out_dir(out_dir: Path) -> None:
    """Refuse a directory holding a Hugging Face vocabulary: ``from_pretrained`` would load that one
    instead of the files learned here."""
    stale = [name for name in HF_FILES if (out_dir / name).exists()]
    if stale:
        raise FileExistsError(f"{out_dir}: holds {', '.join(stale)}, which would shadow the learned files")


def learn_vocabulary(
    texts: Iterable[str],
    num_merges: int,
    out_dir: str | Path,
    *,
    min_count: int = 1,
    stats: LearnStats | None = None,
) -> Path:
    """Learn up to ``num_merges`` BPE merges on ``texts`` and write ``bpecodes`` + ``dict.txt`` to
    ``out_dir`` (created; returned), loadable with ``BioGPTTokenizer.from_pretrained(out_dir)``.

    ``min_count`` is the least frequency a pair needs to be merged; fewer merges are learned when the
    corpus runs out of such pairs (``stats.merges`` says how many). ``texts`` is consumed once.
    """
    if num_merges < 1:
        raise ValueError(f"num_merges must be at least 1, got {num_merges}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    stats = LearnStats() if stats is None else stats
    word_counts = count_words(texts, stats)
    if not word_counts:
        raise ValueError(f"empty corpus: {stats.documents} documents and not a single word")
    merges = train_merges(word_counts, num_merges, min_count)
    symbols = _initial_symbols(word_counts)
    piece_counts = _segment(word_counts, symbols, merges)
    for piece in _producible_pieces(symbols, merges):  # listed even where BPE always merges it further
        piece_counts.setdefault(piece, 0)
    entries = sorted((-count, _fairseq_spelling(piece)) for piece, count in piece_counts.items())
    applications = _merge_applications(piece_counts, merges)

    out_dir.mkdir(parents=True, exist_ok=True)
    dict_path, codes_path = (out_dir / name for name in FAIRSEQ_FILES)
    dict_path.write_text("".join(f"{token} {-count}\n" for count, token in entries), encoding="utf-8")
    codes_path.write_text(
        "".join(f"{a} {b} {count}\n" for (a, b), count in zip(merges, applications, strict=True)),
        encoding="utf-8",
    )
    stats.merges = len(merges)
    stats.dictionary = len(entries)
    return out_dir


# ---------------------------------------------------------------------------------------------- reading
def _file_texts(path: Path) -> Iterator[str]:
    """The non-blank lines of a UTF-8 text file, one document each (decoded line by line, so that a
    decoding error names its line)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path} line {number}: not UTF-8 text ({error.reason})") from error
            if line.strip():
                yield line.rstrip("\r\n")


def _load_dataset(path: Path, column: str) -> Dataset:
    """A dataset saved with ``save_to_disk`` (memory-mapped, not read into memory) with ``column``."""
    from datasets import Dataset  # deferred: importing datasets takes a second, text files need none of it

    try:
        dataset = Dataset.load_from_disk(str(path))
    except FileNotFoundError as error:
        raise ValueError(f"{path}: not a dataset saved with save_to_disk ({error})") from error
    if column not in dataset.column_names:
        raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(dataset.column_names)})")
    return dataset


def _dataset_texts(dataset: Dataset, column: str) -> Iterator[str]:
    for batch in dataset.select_columns([column]).iter(batch_size=_DATASET_BATCH):
        yield from batch[column]


def read_corpus(inputs: Iterable[str | Path], column: str = "text") -> Iterator[str]:
    """Stream the documents of ``inputs``: a directory is a saved dataset (its ``column``), a file is
    plain text with one document per line. Every input is checked before the first document is read,
    so a bad path fails at once rather than after hours of reading the others."""
    sources: list[Iterator[str]] = []
    for path in map(Path, inputs):
        if path.is_dir():
            sources.append(_dataset_texts(_load_dataset(path, column), column))
        elif not path.is_file():
            raise MissingFileError(f"{path}: no such file or directory")
        elif not os.access(path, os.R_OK):
            raise PermissionError(f"{path}: not readable")
        else:
            sources.append(_file_texts(path))
    return itertools.chain.from_iterable(sources)


# ---------------------------------------------------------------------------------------------- command line
def _summary(stats: LearnStats, requested: int, out_dir: Path) -> str:
    merges = f"merges learned: {stats.merges}"
    if stats.merges < requested:
        merges += f" (of {requested} requested: no more pairs frequent enough)"
    return "\n".join(
        [
            f"documents: {stats.documents}",
            f"words: {stats.words} ({stats.distinct_words} distinct)",
            merges,
            f"vocabulary size: {stats.vocab_size} ids ({stats.dictionary} dict.txt entries"
            f" + {len(SPECIAL_TOKENS)} special tokens)",
            *(f"{name}: {out_dir / name}" for name in FAIRSEQ_FILES),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m biogpt.tokenizer.learn",
        description="Learn a BioGPT BPE vocabulary (fastBPE bpecodes + fairseq dict.txt) from a corpus.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="text file (one document per line) or dataset directory (datasets save_to_disk)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--merges", required=True, type=int, help="number of BPE merges to learn")
    parser.add_argument("--min-count", type=int, default=1, help="least frequency of a merged pair")
    parser.add_argument("--column", default="text", help="text column of dataset inputs (default: text)")
    args = parser.parse_args(argv)
    stats = LearnStats()
    try:
        texts = read_corpus(args.inputs, args.column)
        out_dir = learn_vocabulary(texts, args.merges, args.out, min_count=args.min_count, stats=stats)
    except (OSError, TypeError, ValueError) as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    print(_summary(stats, args.merges, out_dir))


if __name__ == "__main__":
    main()
