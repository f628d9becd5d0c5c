"""Packing a text corpus into pre-training blocks: every token once, exact blocks, a stable split."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from biogpt.data.pubmed.corpus import iter_documents, write_dataset
from biogpt.data.pubmed.packing import (
    INDEX_FILE,
    PackedIndex,
    PackedSplit,
    check_fits_uint16,
    is_valid_document,
    main,
    pack_corpus,
)
from biogpt.data.pubmed.records import Citation
from biogpt.tokenizer import BioGPTTokenizer

TASK_CORPORA = ("BC5CDR/raw/train.json", "BC5CDR/raw/valid.json", "BC5CDR/raw/test.json") + (
    "KD-DTI/raw/valid.json",
    "KD-DTI/raw/test.json",
    "DDI/raw/train.json",
)


def text_corpus(shared_data: Path, out: Path, corpora: tuple[str, ...] = TASK_CORPORA) -> list[Citation]:
    """The pre-training text available here: the PubMed samples, then the task corpora's abstracts.

    Written as :mod:`biogpt.data.pubmed.corpus` writes PubMed (columns ``pmid``, ``text``, ...); the task
    releases' keys stand for PMIDs (DDI's DrugBank texts have none), and repeated keys are kept once.
    """
    documents = {d.pmid: d for d in iter_documents([shared_data / "PubMed"])}
    for name in corpora:
        for key, record in json.loads((shared_data / name).read_text()).items():
            documents.setdefault(key, Citation(key, record.get("title", ""), record["abstract"], None))
    write_dataset(documents.values(), out)
    return list(documents.values())


@pytest.fixture(scope="module")
def tokenizer(biogpt_vocab: Path) -> BioGPTTokenizer:
    return BioGPTTokenizer.from_pretrained(biogpt_vocab)


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Citation]]:
    out = tmp_path_factory.mktemp("corpus")
    return out, text_corpus(shared_data, out, ("BC5CDR/raw/valid.json", "DDI/raw/valid.json"))


def _documents_of(split: PackedSplit, eos: int) -> list[list[int]]:
    """The split's documents, recovered from its blocks' predicted tokens plus the unused tail."""
    predicted = split.windows(range(len(split)))[:, 1:].reshape(-1)
    tail = np.asarray(split.tokens[1 + predicted.size :], dtype=np.int64)
    stream = np.concatenate([predicted, tail])
    assert stream[-1] == eos, "the stream ends with a separator"
    ends = np.flatnonzero(stream == eos)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [stream[a:b].tolist() for a, b in zip(starts, ends, strict=True)]


def test_every_token_once_in_exact_blocks_separated_by_eos(
    corpus: tuple[Path, list[Citation]], tokenizer: BioGPTTokenizer, tmp_path: Path
) -> None:
    corpus_dir, documents = corpus
    index = pack_corpus(corpus_dir, tmp_path, tokenizer, tokens_per_sample=64, valid_fraction=0.1)
    assert index.vocab_size == 42384 and index.dtype == "uint16" and index.eos_id == tokenizer.eos_id
    assert PackedIndex.read(tmp_path) == index
    for name in ("train", "valid"):
        split = PackedSplit(tmp_path, name)
        expected = [
            tokenizer.encode(d.text) for d in documents if is_valid_document(d.pmid, 0.1) == (name == "valid")
        ]
        stats = index.splits[name]
        assert stats.documents == len(expected) > 0
        assert split.tokens[0] == tokenizer.eos_id  # fairseq's source of the first block
        assert stats.tokens == 1 + sum(len(ids) + 1 for ids in expected)
        assert stats.blocks * 64 + stats.tail_tokens == stats.tokens - 1 and 0 <= stats.tail_tokens < 64
        windows = split.windows(range(len(split)))
        assert windows.shape == (stats.blocks, 65)
        assert (windows[1:, 0] == windows[:-1, -1]).all()  # block i+1 is predicted from block i's end
        assert _documents_of(split, tokenizer.eos_id) == expected


def test_split_is_deterministic_disjoint_and_independent_of_order(
    corpus: tuple[Path, list[Citation]], tokenizer: BioGPTTokenizer, tmp_path: Path
) -> None:
    corpus_dir, documents = corpus
    first = pack_corpus(corpus_dir, tmp_path / "a", tokenizer, tokens_per_sample=128, valid_fraction=0.2)
    again = pack_corpus(
        corpus_dir, tmp_path / "b", tokenizer, tokens_per_sample=128, valid_fraction=0.2, num_proc=2
    )
    assert first == again
    for name in ("train.bin", "valid.bin"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    reversed_dir = tmp_path / "reversed"
    write_dataset(reversed(documents), reversed_dir)
    shuffled = pack_corpus(reversed_dir, tmp_path / "c", tokenizer, tokens_per_sample=128, valid_fraction=0.2)
    valid_ids = {d.pmid for d in documents if is_valid_document(d.pmid, 0.2)}
    assert 0.1 < len(valid_ids) / len(documents) < 0.3
    assert shuffled.splits["valid"].documents == first.splits["valid"].documents == len(valid_ids)
    assert sorted(map(tuple, _documents_of(PackedSplit(tmp_path / "c", "valid"), 2))) == sorted(
        map(tuple, _documents_of(PackedSplit(tmp_path / "a", "valid"), 2))
    )
    assert first.splits["train"].documents + first.splits["valid"].documents == len(documents)


def test_split_reads_blocks_after_pickling_and_rejects_bad_indices(
    corpus: tuple[Path, list[Citation]], tokenizer: BioGPTTokenizer, tmp_path: Path
) -> None:
    pack_corpus(corpus[0], tmp_path, tokenizer, tokens_per_sample=256, valid_fraction=0.0)
    split = PackedSplit(tmp_path, "train")
    expected = split.windows([3, 0])
    clone = pickle.loads(pickle.dumps(split))  # what DataLoader workers and ddp_spawn do
    assert np.array_equal(clone.windows([3, 0]), expected)
    assert PackedIndex.read(tmp_path).splits["valid"].blocks == 0
    with pytest.raises(IndexError, match="block index"):
        split.windows([len(split)])


def test_a_vocabulary_beyond_uint16_is_refused_by_name(tokenizer: BioGPTTokenizer) -> None:
    check_fits_uint16(tokenizer, "biogpt")
    large = pickle.loads(pickle.dumps(tokenizer))
    large.add_tokens([f"<extra{i}>" for i in range(65536 - tokenizer.vocab_size + 1)])
    with pytest.raises(ValueError, match="vocabulary big-vocab has 65,537 ids"):
        check_fits_uint16(large, "big-vocab")


def test_cli_packs_and_reports_the_tail(
    corpus: tuple[Path, list[Citation]], biogpt_vocab: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    arguments = ["--corpus", str(corpus[0]), "--out", str(tmp_path), "--vocab", str(biogpt_vocab)]
    main([*arguments, "--tokens-per-sample", "100", "--num-proc", "1"])
    train = PackedIndex.read(tmp_path).splits["train"]
    assert (
        f"{train.blocks:,} blocks of 100, {train.tail_tokens:,} tail tokens unused" in capsys.readouterr().out
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [INDEX_FILE, "train.bin", "valid.bin"]
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--id-column", "doc"])
    assert exit_info.value.code == 1 and "no column(s) ['doc']" in capsys.readouterr().err
