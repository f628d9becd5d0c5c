"""Every reader names a file it cannot parse, and the line: a truncated or malformed copy of each format.

A file whose syntax is broken (JSON that does not parse, a cut-off file, XML that is not well-formed, a
line of the wrong shape) raises :class:`DataFileError` ``<path>:<line>[:<column>]: ...; expected ...``,
which the commands print alone. Records that parse but hold wrong content are skipped with a reason
instead (tests/test_study_data.py, tests/test_tasks_*.py).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from project_commands import run_command

from biogpt.data.pubmed.records import iter_records
from biogpt.data.tasks import TaskSplit, load_task_split, make_task_settings
from biogpt.errors import DataFileError
from biogpt.evaluation.bc5cdr import read_cid_pairs, read_entity_ids
from biogpt.tokenizer.family import byte_level_bpe
from biogpt.tokenizer.vocab import read_fairseq, read_huggingface

CDR_TEST = "BC5CDR/raw/CDR_Data/CDR_TestSet.PubTator.txt"
CHEMPROT_TEST = "ChemProt/raw/chemprot_test_gs/chemprot_test_{}_gs.tsv"
DDI2013_TEST = "DDI2013/DDICorpus/Test/Test for DDI Extraction task"


def _copy(shared_data: Path, tmp_path: Path, relative: str) -> Path:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_data / relative, target)
    return target


def _write(tmp_path: Path, relative: str, text: str) -> Path:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def _cut(path: Path, marker: bytes, skip: int = 0, middle: bool = False) -> int:
    """Truncate ``path`` ``skip`` bytes past the first ``marker`` (from the file's middle on, if asked),
    as an interrupted copy would; returns the line the cut falls on."""
    content = path.read_bytes()
    cut = content.index(marker, len(content) // 2 if middle else 0) + skip
    path.write_bytes(content[:cut])
    return content.count(b"\n", 0, cut) + 1


def _load(name: str, data_dir: Path, split: str = "test", **fields: object) -> TaskSplit:
    return load_task_split(make_task_settings(name, data_dir=str(data_dir), **fields), split)


def _raises_at(path: Path, line: int, call: Callable[..., object], *args: object) -> str:
    """Call ``call(*args)``, which must raise a DataFileError placed at ``path:line``; its message."""
    with pytest.raises(DataFileError) as raised:
        call(*args)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert "; expected " in message
    return message


# --- JSON: the release files of BC5CDR / KD-DTI / DDI / PubMedQA, entity maps, label maps ---------------


def test_truncated_release_json_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "DDI/raw/test.json")
    line = _cut(path, b'"abstract": "', skip=40)  # inside a string: the error is at its start
    assert line > 1
    message = _raises_at(path, line, _load, "ddi", tmp_path)
    assert "Unterminated string starting here" in message and "a JSON object keyed by document id" in message


def test_malformed_release_json_names_line_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "KD-DTI/raw/test.json", '{\n  "1": {"title": "t",\n  "abstract": "a" "triples": []}\n}'
    )
    message = _raises_at(path, 3, _load, "kd-dti", tmp_path)
    assert message.startswith(f"{path}:3:19: invalid JSON: Expecting ',' delimiter")


def test_release_json_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "BC5CDR/raw/test.json", "[1, 2]")
    assert "the top level is a JSON list" in _raises_at(path, 1, _load, "bc5cdr", tmp_path)


def test_truncated_pubmedqa_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "PubMedQA/raw/ori_pqal.json")
    line = _cut(path, b'"LONG_ANSWER": "', skip=30)
    _raises_at(path, line, _load, "pubmedqa", tmp_path)


def test_non_utf8_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "PubMedQA" / "raw" / "ori_pqal.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{\n"1": {\n"QUESTION": "caf\xe9"}}')
    assert "not UTF-8 text" in _raises_at(path, 3, _load, "pubmedqa", tmp_path)


def test_truncated_entity_map_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "BC5CDR/raw/test.entities.json")
    line = _cut(path, b'"disease2id"', skip=30)
    _raises_at(path, line, read_entity_ids, tmp_path, "test")
    _write(tmp_path, "BC5CDR/raw/test.entities.json", '{"chemical2id": {}}')
    assert "no 'disease2id' object" in _raises_at(path, 1, read_entity_ids, tmp_path, "test")


def test_truncated_dce_label_map_names_the_line(tmp_path: Path) -> None:
    _write(tmp_path, "DCE/raw/final_test_set.jsonl", "")
    path = _write(tmp_path, "DCE/raw/label2idx.json", '{"POS": 1,\n "NEG": ')
    _raises_at(path, 2, lambda: _load("dce", tmp_path, dce_classes="official"))


# --- JSON lines: DCE ----------------------------------------------------------------------------------


def test_truncated_jsonl_names_its_last_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "DCE/raw/final_train_set.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:50])
    # Every line is parsed before the hold-out: both splits name the cut line.
    for split in ("train", "valid"):
        assert "invalid JSON" in _raises_at(path, len(lines), _load, "dce", tmp_path, split)


def test_jsonl_line_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path, "DCE/raw/label2idx.json", "{}")
    path = _write(tmp_path, "DCE/raw/final_test_set.jsonl", '{"doc_id": "a"}\n\n{"doc_id": "b",}\n')
    assert _raises_at(path, 3, _load, "dce", tmp_path).startswith(f"{path}:3:16: invalid JSON")


# --- TSV: HoC, ChemProt -------------------------------------------------------------------------------


def test_truncated_hoc_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "HoC/raw/test.tsv")
    line = _cut(path, b"\n", skip=11, middle=True)  # 10 characters into a sentence, before its tab
    assert "1 tab-separated field(s)" in _raises_at(path, line, _load, "hoc", tmp_path)


def test_hoc_line_with_too_many_fields_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "HoC/raw/test.tsv", "A sentence .\tlabel\n\nx\ty\tz\n")
    assert "3 tab-separated field(s)" in _raises_at(path, 3, _load, "hoc", tmp_path)


@pytest.mark.parametrize(("part", "width"), [("abstracts", 3), ("entities", 6)])
def test_truncated_chemprot_names_the_line(shared_data: Path, tmp_path: Path, part: str, width: int) -> None:
    paths = {
        name: _copy(shared_data, tmp_path, CHEMPROT_TEST.format(name)) for name in ("abstracts", "entities")
    }
    _copy(shared_data, tmp_path, "ChemProt/raw/chemprot_test_gs/chemprot_test_gold_standard.tsv")
    line = _cut(paths[part], b"\n", skip=1 + 5, middle=True)  # inside the PMID that starts a line
    message = _raises_at(paths[part], line, _load, "chemprot", tmp_path)
    assert f"1 field(s); expected {width} tab-separated fields a line" in message


def test_chemprot_gold_row_of_the_wrong_width_is_an_error(shared_data: Path, tmp_path: Path) -> None:
    for name in ("abstracts", "entities"):
        _copy(shared_data, tmp_path, CHEMPROT_TEST.format(name))
    path = _write(
        tmp_path,
        "ChemProt/raw/chemprot_test_gs/chemprot_test_gold_standard.tsv",
        "1\tCPR:4\tArg1:T1\tArg2:T2\n1\tCPR:4\n",
    )
    _raises_at(path, 2, _load, "chemprot", tmp_path)


# --- PubTator: CDR documents, BC5CDR gold relations ------------------------------------------------------


def test_truncated_pubtator_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, CDR_TEST)
    line = _cut(path, b"\tChemical\t", middle=True)  # a mention line cut to 4 fields, not a relation
    assert "not a PubTator line" in _raises_at(path, line, _load, "cdr", tmp_path)
    _raises_at(path, line, read_cid_pairs, path)


def test_pubtator_line_of_another_format_is_an_error(tmp_path: Path) -> None:
    text = "1|t|A title.\n1|a|An abstract.\n1\tCID\tD1\tD2\n\n2|t|T.\n2 a An abstract.\n"
    path = _write(tmp_path, CDR_TEST, text)
    _raises_at(path, 6, _load, "cdr", tmp_path)
    _raises_at(path, 6, read_cid_pairs, path)


# --- XML: DDI-2013, PubMed ------------------------------------------------------------------------------


def test_truncated_ddi2013_document_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / DDI2013_TEST / "MedLine"
    shutil.copytree(source, tmp_path / DDI2013_TEST / "MedLine")
    (tmp_path / DDI2013_TEST / "DrugBank").mkdir()
    path = sorted((tmp_path / DDI2013_TEST / "MedLine").glob("*.xml"))[0]
    line = _cut(path, b"</sentence>")
    assert "not well-formed XML: no element found" in _raises_at(path, line, _load, "ddi2013", tmp_path)


def test_malformed_ddi2013_document_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / DDI2013_TEST / "DrugBank").mkdir(parents=True)
    text = "<document id='x'>\n  <sentence id='x.s0' text='A.'>\n</document>\n"
    path = _write(tmp_path, f"{DDI2013_TEST}/MedLine/x.xml", text)
    assert _raises_at(path, 3, _load, "ddi2013", tmp_path).startswith(
        f"{path}:3:3: not well-formed XML: mismatched tag"
    )


def test_truncated_pubmed_xml_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "PubMed/pubmed-29768149.xml")
    line = _cut(path, b"<AbstractText", skip=30)
    assert "unexpected end of file" in _raises_at(path, line, lambda: list(iter_records(path)))


def test_truncated_pubmed_gzip_says_so(shared_data: Path, tmp_path: Path) -> None:
    path = _copy(shared_data, tmp_path, "PubMed/test_current_medline.xml.gz")
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) // 2])
    with gzip.open(path, "rb") as stream:  # what decompresses before the break, to place the cut
        decompressed = bytearray()
        with pytest.raises(EOFError):
            while chunk := stream.read1(1 << 16):
                decompressed += chunk
    with pytest.raises(DataFileError, match="truncated or corrupt compressed data") as raised:
        list(iter_records(path))
    line = decompressed.count(b"\n") + 1
    assert str(raised.value).startswith(f"{path}:{line}:")


# --- vocabularies: fairseq dict.txt + bpecodes, Hugging Face vocab.json + merges.txt ------------------


@pytest.mark.parametrize("name", ["dict.txt", "bpecodes"])
def test_truncated_fairseq_vocabulary_names_the_line(biogpt_vocab: Path, tmp_path: Path, name: str) -> None:
    for file in ("dict.txt", "bpecodes"):
        shutil.copy(biogpt_vocab / file, tmp_path / file)
    path = tmp_path / name
    line = _cut(path, b" ", middle=True)  # a line cut after its first field
    assert "got '" in _raises_at(path, line, read_fairseq, tmp_path)


def test_truncated_huggingface_vocabulary_names_the_line(biogpt_vocab: Path, tmp_path: Path) -> None:
    path = _copy(biogpt_vocab.parent, tmp_path, "gpt2/vocab.json")
    _copy(biogpt_vocab.parent, tmp_path, "gpt2/merges.txt")
    line = _cut(path, b'": ', skip=1, middle=True)  # after a key's colon: no value follows
    _raises_at(path, line, read_huggingface, path.parent)
    _raises_at(path, line, byte_level_bpe, path.parent)


# --- a command: the issue's own example ------------------------------------------------------------------


def test_export_of_a_truncated_file_prints_the_place_alone(
    shared_data: Path, tmp_path: Path, token_cache: Path
) -> None:
    path = _copy(shared_data, tmp_path, "DDI/raw/test.json")
    line = _cut(path, b'"abstract": "', skip=40)
    command = [
        "-m",
        "biogpt.data.export",
        "task=ddi",
        "split=test",
        f"out={tmp_path / 'out.jsonl'}",
        f"data_dir={tmp_path}",
        f"tokenizer={shared_data / 'vocab' / 'biogpt'}",
        f"data.cache_dir={token_cache}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    result = run_command(command)
    assert result.returncode == 1, result.stderr
    assert f"error: {path}:{line}:" in result.stderr
    assert "Traceback" not in result.stderr
