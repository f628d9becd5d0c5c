"""The inputs of ``biogpt-extract``: every format's documents, skipped records with their reasons, bad
records named by file and line, and the ranks' disjoint shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biogpt.data.pubmed.corpus import PubmedCounts, iter_documents
from biogpt.errors import ConfigError, DataFileError, MissingFileError
from biogpt.extraction.inputs import InputSettings, detect_input_format, read_input


def _read(settings: InputSettings, rank: int = 0, world: int = 1) -> tuple[list[tuple[str, str, int]], dict]:
    stream = read_input(settings, rank, world)
    documents = [(d.id, d.text, d.position) for d in stream.documents]
    return documents, dict(stream.skipped)


def test_pubmed_xml_is_read_as_the_corpus_builder_reads_it(shared_data: Path) -> None:
    pubmed = shared_data / "PubMed"
    counts = PubmedCounts()
    expected = [(c.pmid, c.text) for c in iter_documents([pubmed], counts=counts)]
    for path in (str(pubmed), str(pubmed / "*.xml*")):
        assert detect_input_format(path) == "pubmed-xml"
        documents, skipped = _read(InputSettings(path))
        assert [(i, t) for i, t, _ in documents] == expected
        assert skipped == {"without abstract": counts.without_abstract}
    # two ranks: disjoint, together everything; the whole-input counts on rank 0 only
    shares = [_read(InputSettings(str(pubmed)), rank, 2) for rank in (0, 1)]
    ids = [[i for i, _, _ in documents] for documents, _ in shares]
    assert not set(ids[0]) & set(ids[1]) and sorted(ids[0] + ids[1]) == sorted(i for i, _ in expected)
    assert shares[1][1] == {} and shares[0][1] == {"without abstract": counts.without_abstract}


def test_jsonl_fields_skips_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    records = [
        {"pmid": 1, "abstract": "first"},
        {"pmid": 2, "abstract": ""},
        {"pmid": 1, "abstract": "again"},
        {"pmid": 3},
        {"pmid": 4, "abstract": "fourth"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    settings = InputSettings(str(path), id_field="pmid", text_field="abstract")
    assert detect_input_format(str(path)) == "jsonl"
    documents, skipped = _read(settings)
    assert documents == [("1", "first", 0), ("4", "fourth", 4)]
    assert skipped == {"no 'abstract' text": 2, "repeated id": 1}
    assert read_input(settings).total == 5
    path.write_text('{"pmid": 1, "abstract": "x"}\n[1, 2]\n')
    with pytest.raises(DataFileError, match=rf"{path}:2: a JSON list"):
        _read(settings)
    path.write_text('{"abstract": "x"}\n')
    with pytest.raises(DataFileError, match=rf"{path}:1: no 'pmid' field"):
        _read(settings)
    path.write_text("{oops\n")
    with pytest.raises(DataFileError, match=rf"{path}:1:2: invalid JSON: Expecting property name"):
        _read(settings)
    # A byte-order mark first is no part of the first record; bytes that are not UTF-8 name their line.
    path.write_bytes(b"\xef\xbb\xbf" + b'{"pmid": 7, "abstract": "marked"}\n')
    assert _read(settings) == ([("7", "marked", 0)], {})
    path.write_bytes('{"pmid": 7, "abstract": "x"}\n{"pmid": 8, "abstract": "\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(DataFileError, match=rf"{path}:2: not UTF-8 text"):
        _read(settings)


def test_text_files_a_document_per_file_or_per_line(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second document\nits second line\n")
    (tmp_path / "a.txt").write_text("first document\n\nafter a blank line\n")
    (tmp_path / "c.txt").write_text("  \n")
    assert detect_input_format(str(tmp_path)) == "text"
    documents, skipped = _read(InputSettings(str(tmp_path)))
    assert [i for i, _, _ in documents] == ["a.txt", "b.txt"] and skipped == {"empty file": 1}
    assert documents[0][1] == "first document\n\nafter a blank line\n"
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbfsecond document\nits second line\n")  # a byte-order mark
    assert _read(InputSettings(str(tmp_path)))[0][1][1] == "second document\nits second line\n"
    lines, _ = _read(InputSettings(str(tmp_path), format="lines"))
    assert [(i, t) for i, t, _ in lines] == [
        ("a.txt:1", "first document"),
        ("a.txt:3", "after a blank line"),
        ("b.txt:1", "second document"),
        ("b.txt:2", "its second line"),
    ]


def test_custom_corpora_are_read_by_the_custom_task_readers(tmp_path: Path) -> None:
    corpus = tmp_path / "brat"
    corpus.mkdir()
    (corpus / "doc1.txt").write_text("Aspirin inhibits COX-1.")
    (corpus / "doc1.ann").write_text("T1\tChemical 0 7\tAspirin\nT2\tGene 17 22\tCOX-1\n")
    documents, skipped = _read(InputSettings(str(corpus), format="custom"))
    assert [(i, t) for i, t, _ in documents] == [("doc1", "Aspirin inhibits COX-1.")] and skipped == {}


def test_unknown_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nowhere"):
        read_input(InputSettings(str(tmp_path / "nowhere")))
    (tmp_path / "data.bin").write_bytes(b"\0")
    with pytest.raises(ConfigError, match="input_format"):
        detect_input_format(str(tmp_path))
    with pytest.raises(ValueError, match="input_format='xml'"):
        InputSettings(str(tmp_path), format="xml")


def test_the_pubmed_dataset_is_read_by_its_pmid_and_text(tmp_path: Path, shared_data: Path) -> None:
    from biogpt.data.pubmed.corpus import write_dataset

    citations = list(iter_documents([shared_data / "PubMed"]))
    write_dataset(citations, tmp_path / "pubmed-ds")
    assert detect_input_format(str(tmp_path / "pubmed-ds")) == "pubmed-dataset"
    documents, skipped = _read(InputSettings(str(tmp_path / "pubmed-ds")))
    assert [(i, t) for i, t, _ in documents] == [(c.pmid, c.text) for c in citations] and skipped == {}
    assert read_input(InputSettings(str(tmp_path / "pubmed-ds")), 1, 2).total == len(citations) // 2
