"""Reading and writing the fairseq and Hugging Face vocabulary layouts, and their error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from biogpt.errors import DataFileError
from biogpt.tokenizer.vocab import (
    SPECIAL_TOKENS,
    Vocabulary,
    read_fairseq,
    read_huggingface,
    read_vocabulary,
    write_huggingface,
)


def write_fairseq(directory: Path, dict_lines: list[str], codes_lines: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dict.txt").write_text("".join(f"{line}\n" for line in dict_lines), encoding="utf-8")
    (directory / "bpecodes").write_text("".join(f"{line}\n" for line in codes_lines), encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("name", "ids", "merges"), [("biogpt", 42_384, 40_000), ("biogpt-large", 57_717, 50_000)]
)
def test_release_vocabularies_have_the_documented_sizes(
    shared_data: Path, name: str, ids: int, merges: int
) -> None:
    vocabulary = read_fairseq(shared_data / "vocab" / name)
    assert len(vocabulary.pieces) == ids
    assert len(vocabulary.merges) == merges
    assert vocabulary.pieces[:4] == SPECIAL_TOKENS


def test_fairseq_spelling_becomes_end_of_word_spelling(biogpt_vocab: Path) -> None:
    vocabulary = read_fairseq(biogpt_vocab)
    first_dict_lines = (biogpt_vocab / "dict.txt").read_text(encoding="utf-8").splitlines()[:3]
    assert [line.split()[0] for line in first_dict_lines] == [".", "of", "the"]
    assert vocabulary.pieces[4:7] == (".</w>", "of</w>", "the</w>")
    assert vocabulary.merges[:2] == (("t", "i"), ("t", "h"))
    continuation = [piece for piece in vocabulary.pieces[4:] if not piece.endswith("</w>")]
    assert len(continuation) == 11_100  # the dict.txt entries ending in @@


def test_small_fairseq_directory(tmp_path: Path) -> None:
    directory = write_fairseq(tmp_path, ["the 10", "th@@ 5", "e 3"], ["t h 9", "th e</w> 8"])
    vocabulary = read_fairseq(directory)
    assert vocabulary.pieces == (*SPECIAL_TOKENS, "the</w>", "th", "e</w>")
    assert vocabulary.merges == (("t", "h"), ("th", "e</w>"))


@pytest.mark.parametrize(
    ("dict_lines", "codes_lines", "file", "line", "message"),
    [
        (["the 10", "broken"], ["t h 9"], "dict.txt", 2, "got 'broken'; expected 'token count' lines"),
        (["the 10", "a b 3"], ["t h 9"], "dict.txt", 2, "got 'a b 3'; expected 'token count' lines"),
        (["the ten"], ["t h 9"], "dict.txt", 1, "got 'the ten'; expected 'token count' lines"),
        (["the 1", "the 2"], ["t h 9"], "dict.txt", 2, "duplicate token 'the'; expected each token once"),
        (["@@ 1"], ["t h 9"], "dict.txt", 1, "empty piece '@@'"),
        (["the 1"], ["t h 9", "t h"], "bpecodes", 2, "got 't h'; expected 'a b count' lines"),
        (["the 1"], ["t h 9", "x y z 3"], "bpecodes", 2, "got 'x y z 3'; expected 'a b count' lines"),
        (["the 1"], ["t h 9", "e r 3", "t h 1"], "bpecodes", 3, "merge 't h' repeats line 1"),
    ],
)
def test_malformed_fairseq_files_name_file_and_line(
    tmp_path: Path, dict_lines: list[str], codes_lines: list[str], file: str, line: int, message: str
) -> None:
    directory = write_fairseq(tmp_path, dict_lines, codes_lines)
    with pytest.raises(DataFileError, match=re.escape(f"{directory / file}:{line}: {message}")):
        read_fairseq(directory)


def test_missing_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "dict.txt").write_text("the 1\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "bpecodes")):
        read_vocabulary(tmp_path)
    with pytest.raises(FileNotFoundError, match="no vocabulary found"):
        read_vocabulary(tmp_path / "empty")


def test_huggingface_round_trip(tmp_path: Path) -> None:
    vocabulary = Vocabulary(
        (*SPECIAL_TOKENS, "the</w>", "th", "e</w>", "µ</w>"), (("t", "h"), ("th", "e</w>"))
    )
    write_huggingface(tmp_path, vocabulary)
    assert read_huggingface(tmp_path) == vocabulary
    assert read_vocabulary(tmp_path) == vocabulary
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))["µ</w>"] == 7
    assert (tmp_path / "merges.txt").read_text(encoding="utf-8") == "t h\nth e</w>\n"


def test_malformed_huggingface_files(tmp_path: Path) -> None:
    vocabulary = Vocabulary((*SPECIAL_TOKENS, "th"), (("t", "h"),))
    write_huggingface(tmp_path, vocabulary)
    (tmp_path / "merges.txt").write_text("t h\nt\n", encoding="utf-8")
    with pytest.raises(
        DataFileError, match=re.escape(f"{tmp_path / 'merges.txt'}:2: got 't'; expected 'a b'")
    ):
        read_huggingface(tmp_path)
    (tmp_path / "vocab.json").write_text('{"<s>": 0,\n "x" 1}', encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape(f"{tmp_path / 'vocab.json'}:2:6: invalid JSON")):
        read_huggingface(tmp_path)
    (tmp_path / "vocab.json").write_text(json.dumps({"<s>": 0, "<pad>": 2}), encoding="utf-8")
    with pytest.raises(ValueError, match="ids must be unique and cover 0..1"):
        read_huggingface(tmp_path)


def test_vocabulary_requires_special_tokens() -> None:
    with pytest.raises(ValueError, match="lacks the special tokens"):
        Vocabulary(("<s>", "a</w>"), ())
