"""Reading and writing the two on-disk layouts of the BioGPT vocabulary.

* fairseq release: ``dict.txt`` (``token count`` per line, ``@@`` marking a non-final piece, ids 4...
  after ``<s> <pad> </s> <unk>``) and fastBPE ``bpecodes`` (``a b count`` per line, rank = line order);
* Hugging Face (what ``BioGptTokenizer.save_pretrained`` writes): ``vocab.json`` (token -> id, final
  pieces spelled ``x</w>``, non-final ones ``x``) and ``merges.txt`` (``a b`` per line).

Both are turned into one :class:`Vocabulary` in the Hugging Face spelling, which is also the spelling of
the BPE model (``end_of_word_suffix="</w>"``). Every malformed line is reported with file and line
number, because a silently skipped line shifts ids or merge ranks and corrupts every encoded document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from biogpt.errors import DataFileError, MissingFileError
from biogpt.textfiles import numbered_lines, read_json

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
END_OF_WORD = "</w>"
FAIRSEQ_CONTINUATION = "@@"

FAIRSEQ_FILES = ("dict.txt", "bpecodes")
HF_FILES = ("vocab.json", "merges.txt")
# What each file's reader expects, as its error messages end.
_DICT_LINE = "'token count' lines"
_CODES_LINE = "'a b count' lines"
_MERGES_LINE = "'a b' or 'a b count' lines"
_VOCAB_JSON = "a JSON object mapping tokens to integer ids"


@dataclass(frozen=True)
class Vocabulary:
    """Pieces in id order (Hugging Face spelling) and BPE merges in rank order."""

    pieces: tuple[str, ...]
    merges: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        missing = [t for t in SPECIAL_TOKENS if t not in self.pieces]
        if missing:
            raise ValueError(f"vocabulary lacks the special tokens {missing}")


def _lines(path: Path, expected: str) -> Iterator[tuple[int, str]]:
    """Numbered non-empty lines (1-based) of a UTF-8 file; a missing file names itself."""
    if not path.is_file():
        raise MissingFileError(f"{path}: vocabulary file not found")
    return ((number, line) for number, line in numbered_lines(path, expected) if line.strip())


def _is_count(field: str) -> bool:
    return field.isascii() and field.isdigit()


def _check_unique_merges(path: Path, merges: list[tuple[str, str]], numbers: list[int]) -> None:
    """A repeated merge would get two ranks, and implementations disagree on which one wins."""
    seen: dict[tuple[str, str], int] = {}
    for merge, number in zip(merges, numbers, strict=True):
        if merge in seen:
            problem = f"merge {' '.join(merge)!r} repeats line {seen[merge]}"
            raise DataFileError.at(path, number, problem, "each merge once")
        seen[merge] = number


def read_fairseq(directory: Path) -> Vocabulary:
    """Read ``dict.txt`` + ``bpecodes`` of the fairseq release into the Hugging Face spelling."""
    dict_path, codes_path = (directory / name for name in FAIRSEQ_FILES)
    pieces = list(SPECIAL_TOKENS)
    seen = {piece: 0 for piece in pieces}
    for number, line in _lines(dict_path, _DICT_LINE):
        fields = line.split()
        if len(fields) != 2 or not _is_count(fields[1]):
            raise DataFileError.at(dict_path, number, f"got {line!r}", _DICT_LINE)
        token = fields[0]
        if token.endswith(FAIRSEQ_CONTINUATION):
            piece = token[: -len(FAIRSEQ_CONTINUATION)]
            if not piece:
                raise DataFileError.at(dict_path, number, f"empty piece {token!r}", "a token before '@@'")
        else:
            piece = token + END_OF_WORD
        if piece in seen:
            raise DataFileError.at(dict_path, number, f"duplicate token {token!r}", "each token once")
        seen[piece] = number
        pieces.append(piece)
    merges, numbers = [], []
    for number, line in _lines(codes_path, _CODES_LINE):
        fields = line.split()
        if len(fields) != 3 or not _is_count(fields[2]):
            raise DataFileError.at(codes_path, number, f"got {line!r}", _CODES_LINE)
        merges.append((fields[0], fields[1]))
        numbers.append(number)
    _check_unique_merges(codes_path, merges, numbers)
    return Vocabulary(tuple(pieces), tuple(merges))


def read_huggingface(directory: Path) -> Vocabulary:
    """Read ``vocab.json`` + ``merges.txt``; ids must be exactly 0..n-1 (our ids are list positions)."""
    vocab_path, merges_path = (directory / name for name in HF_FILES)
    if not vocab_path.is_file():
        raise MissingFileError(f"{vocab_path}: vocabulary file not found")
    mapping = read_json(vocab_path, _VOCAB_JSON)
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in mapping.items()
    ):
        raise DataFileError(f"{vocab_path}: expected {_VOCAB_JSON}")
    if sorted(mapping.values()) != list(range(len(mapping))):
        raise DataFileError(f"{vocab_path}: ids must be unique and cover 0..{len(mapping) - 1}")
    missing = [token for token in SPECIAL_TOKENS if token not in mapping]
    if missing:  # tokenizer= naming another family's vocabulary (GPT-2's has none of them)
        raise DataFileError(
            f"{vocab_path}: lacks BioGPT's special tokens {missing}; expected a BioGPT vocabulary "
            f"({', '.join(SPECIAL_TOKENS)} among its pieces)"
        )
    pieces = [""] * len(mapping)
    for piece, index in mapping.items():
        pieces[index] = piece
    merges, numbers = [], []
    for number, line in _lines(merges_path, _MERGES_LINE):
        fields = line.split()
        if len(fields) not in (2, 3) or (len(fields) == 3 and not _is_count(fields[2])):
            raise DataFileError.at(merges_path, number, f"got {line!r}", _MERGES_LINE)
        merges.append((fields[0], fields[1]))
        numbers.append(number)
    _check_unique_merges(merges_path, merges, numbers)
    return Vocabulary(tuple(pieces), tuple(merges))


def read_vocabulary(directory: Path) -> Vocabulary:
    """Read whichever layout ``directory`` holds (Hugging Face first, as it is what we write)."""
    if all((directory / name).is_file() for name in HF_FILES):
        return read_huggingface(directory)
    if any((directory / name).exists() for name in FAIRSEQ_FILES):
        return read_fairseq(directory)
    raise MissingFileError(
        f"{directory}: no vocabulary found; expected {' + '.join(HF_FILES)} or {' + '.join(FAIRSEQ_FILES)}"
    )


def write_huggingface(directory: Path, vocabulary: Vocabulary) -> list[Path]:
    """Write ``vocab.json`` + ``merges.txt`` in the layout ``BioGptTokenizer`` reads."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab_path, merges_path = (directory / name for name in HF_FILES)
    mapping = {piece: index for index, piece in enumerate(vocabulary.pieces)}
    vocab_path.write_text(json.dumps(mapping, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    merges_path.write_text("".join(f"{a} {b}\n" for a, b in vocabulary.merges), encoding="utf-8")
    return [vocab_path, merges_path]
