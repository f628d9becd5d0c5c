"""Drug Combination Extraction (Tiktinsky et al. 2022) for the study: jsonl sentences to documents.

A document is one record's ``sentence`` (the study's sentence-level template; the paragraph is not
used). A relation is the set of its spans' texts (``spans`` indexed by span id), names de-duplicated
in span order (the study rendered a Python set, in no fixed order), with its class mapped by
``dce_classes``. The release has train and test files only; ``valid`` is a seeded hold-out of the
training records (:func:`biogpt.data.tasks.study_documents.holdout`).
"""

from __future__ import annotations

from typing import Any

from biogpt.data.tasks.io import raw_file, read_json_object, require_str
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.study_documents import StudyDocument, StudyRead, holdout
from biogpt.data.tasks.types import SkippedRecord, StudyRelation
from biogpt.textfiles import numbered_lines, parse_json

POSITIVE = "POS"
# The study's Relation._get_predicate: NEG is renamed COMB, so "not positive" is one class.
STUDY_CLASSES: dict[str, str] = {"POS": POSITIVE, "COMB": "COMB", "NEG": "COMB"}
SPLIT_FILES: dict[str, str] = {
    "train": "final_train_set.jsonl",
    "valid": "final_train_set.jsonl",
    "test": "final_test_set.jsonl",
}


def dce_class_map(config: StudyTaskSettings) -> dict[str, str]:
    """Raw class -> class under ``config.dce_classes``.

    ``official`` reads the release's ``label2idx.json``: classes sharing an index are one class, named
    by its members sorted and joined with "/" (COMB and NEG -> "COMB/NEG").
    """
    if config.dce_classes == "study":
        return dict(STUDY_CLASSES)
    path = raw_file(config.data_dir, "DCE", "label2idx.json")
    indices = read_json_object(path, "a JSON object mapping each class to its index")
    members: dict[Any, list[str]] = {}
    for name, index in indices.items():
        members.setdefault(index, []).append(name)
    return {name: "/".join(sorted(members[index])) for name, index in indices.items()}


def _relation(record: dict[str, Any], raw: Any, classes: dict[str, str]) -> StudyRelation:
    if not isinstance(raw, dict) or not isinstance(raw.get("spans"), list):
        raise ValueError(f"relation {raw!r} has no span list")
    label = require_str(raw, "class")
    if label not in classes:
        raise ValueError(f"unknown class {label!r}; known: {', '.join(classes)}")
    spans = record["spans"]
    names = []
    for span_id in raw["spans"]:
        if (
            not isinstance(span_id, int)
            or not 0 <= span_id < len(spans)
            or not isinstance(spans[span_id], dict)
        ):
            raise ValueError(f"relation span id {span_id!r} is not an index of the record's spans")
        names.append(require_str(spans[span_id], "text"))
    return StudyRelation(tuple((name,) for name in dict.fromkeys(names)), classes[label])


def _document(record: Any, classes: dict[str, str]) -> StudyDocument:
    """One jsonl record; a ValueError's message is the reason to skip it."""
    if not isinstance(record, dict):
        raise ValueError(f"record is {type(record).__name__}, expected object")
    doc_id, sentence = require_str(record, "doc_id"), require_str(record, "sentence")
    if not isinstance(record.get("spans"), list) or not isinstance(record.get("rels"), list):
        raise ValueError("fields 'spans' and 'rels' must be lists")
    return StudyDocument(doc_id, sentence, tuple(_relation(record, raw, classes) for raw in record["rels"]))


def read_dce(config: StudyTaskSettings, split: str) -> StudyRead:
    """The split's sentences; a record missing a field is skipped under its doc_id (or its line number).

    Every line is parsed before the hold-out is drawn, so a line that is not JSON (a cut-off file)
    raises naming it whichever split is read; the hold-out is drawn over the file's non-blank lines,
    so a malformed record does not move others between train and valid.
    """
    path = raw_file(config.data_dir, "DCE", SPLIT_FILES[split])
    classes = dce_class_map(config)
    expected = "one JSON object a line"
    records = [
        (number, parse_json(line, path, expected, first_line=number))
        for number, line in numbered_lines(path, expected)
        if line.strip()
    ]
    if split != "test":
        records = holdout(records, config, split)
    result = StudyRead()
    for number, record in records:
        try:
            result.documents.append(_document(record, classes))
        except ValueError as error:
            result.skipped.append(SkippedRecord(_record_id(record, number), f"line {number}: {error}"))
    return result


def _record_id(record: Any, number: int) -> str:
    """The doc_id of a malformed record when it has one, else ``line <number>``."""
    doc_id = record.get("doc_id") if isinstance(record, dict) else None
    return doc_id if isinstance(doc_id, str) else f"line {number}"
