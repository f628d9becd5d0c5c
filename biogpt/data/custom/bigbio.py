"""BigBIO schemas (bigscience-workshop/biomedical, ``task_schemas.md``), as JSON records, Parquet or a
``datasets`` ``save_to_disk`` directory.

* ``bigbio_kb``: ``{id, document_id, passages: [{id, type, text: [..], offsets: [[s, e], ..]}],
  entities: [{id, type, text: [..], offsets: [[s, e], ..], normalized: [{db_name, db_id}]}],
  events, coreferences: [{id, entity_ids}], relations: [{id, type, arg1_id, arg2_id, normalized}]}``.
  An entity's concept is each ``db_name:db_id``; a coreference chain is one concept too. Events are
  counted, not read.
* ``bigbio_text``: ``{id, document_id, text, labels}``.
* ``bigbio_qa``: ``{id, question_id, document_id, question, type, choices, context, answer: [..]}``; the
  first answer is the gold one (a record with several is counted).

A record's id is its ``document_id`` (a QA record's ``question_id`` where it has one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from biogpt.data.custom.document import (
    CorpusRead,
    Defect,
    Document,
    Entity,
    LabelledText,
    Location,
    Passage,
    Question,
    Relation,
    Span,
)
from biogpt.data.custom.files import DATASETS_MARKERS
from biogpt.data.custom.jsonl import json_records
from biogpt.errors import DataFileError

SCHEMA_OF_KIND = {"relation": "bigbio_kb", "classification": "bigbio_text", "qa": "bigbio_qa"}


def _table_records(path: Path) -> Iterator[tuple[Location, Any]]:
    """Rows of a Parquet file or a ``save_to_disk`` directory, each at its 1-based row number."""
    import datasets

    if path.is_dir():
        if (path / "dataset_dict.json").is_file():
            splits = sorted(p.name for p in path.iterdir() if p.is_dir())
            raise DataFileError(
                f"{path}: a DatasetDict; point the split at one of its splits: "
                + ", ".join(str(path / s) for s in splits)
            )
        if not any((path / marker).is_file() for marker in DATASETS_MARKERS):
            raise DataFileError(f"{path}: not a datasets save_to_disk directory")
        table = datasets.load_from_disk(str(path))
    else:
        table = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
    for index, row in enumerate(table):
        yield Location(f"{path} row", index + 1), row


def _records(path: Path) -> Iterator[tuple[Location, Any]]:
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return _table_records(path)
    return json_records(path)


def _place(pieces: list[str], offsets: list[list[int]], base: int = 0) -> str:
    """Text pieces placed at their offsets (relative to ``base``), gaps as spaces."""
    text = ""
    for piece, (start, _) in zip(pieces, offsets, strict=True):
        text = text.ljust(start - base)[: start - base] + piece
    return text


def _kb_document(record: dict[str, Any], location: Location, unused: CorpusRead) -> Document:
    passages = []
    for passage in record["passages"]:
        offsets = passage["offsets"]
        start = offsets[0][0] if offsets else 0
        passages.append(Passage(str(passage["id"]), start, _place(list(passage["text"]), offsets, start)))
    chains = {
        entity_id: f"coreference:{chain['id']}"
        for chain in record.get("coreferences") or []
        for entity_id in chain["entity_ids"]
    }
    entities = []
    for entity in record["entities"]:
        spans = tuple(Span(int(s), int(e)) for s, e in entity["offsets"])
        concepts = tuple(f"{n['db_name']}:{n['db_id']}" for n in entity.get("normalized") or [])
        if entity["id"] in chains:
            concepts = (chains[entity["id"]], *concepts)
        entities.append(
            Entity(str(entity["id"]), entity["type"], spans, " ".join(entity["text"]), location, concepts)
        )
    relations = [
        Relation(str(r["id"]), r["type"], str(r["arg1_id"]), str(r["arg2_id"]), location)
        for r in record.get("relations") or []
    ]
    if record.get("events"):
        unused.unused["bigbio_kb events"] += len(record["events"])
    doc_id = str(record.get("document_id") or record["id"])
    return Document(doc_id, tuple(passages), tuple(entities), tuple(relations), location)


def _text_record(record: dict[str, Any], location: Location) -> LabelledText:
    doc_id = str(record.get("document_id") or record["id"])
    return LabelledText(doc_id, record["text"], tuple(record["labels"]), location)


def _qa_record(record: dict[str, Any], location: Location, unused: CorpusRead) -> Question:
    answers = list(record["answer"])
    if not answers:
        raise ValueError("no answer")
    if len(answers) > 1:
        unused.unused["bigbio_qa answers after the first"] += len(answers) - 1
    context = record.get("context") or ""
    doc_id = str(record.get("question_id") or record.get("document_id") or record["id"])
    choices = tuple(record.get("choices") or ())
    return Question(doc_id, record["question"], (context,), answers[0], location, choices)


def read_bigbio(files: list[Path], kind: str) -> CorpusRead:
    """The records of the schema of ``kind`` in ``files``; a record of another shape is skipped."""
    result = CorpusRead()
    for path in files:
        if not (path.is_dir() or path.suffix.lower() in (".parquet", ".json", ".jsonl")):
            continue
        for location, record in _records(path):
            try:
                if not isinstance(record, dict):
                    raise ValueError(f"record is {type(record).__name__}, expected an object")
                if kind == "relation":
                    result.records.append(_kb_document(record, location, result))
                elif kind == "classification":
                    result.records.append(_text_record(record, location))
                else:
                    result.records.append(_qa_record(record, location, result))
            except (KeyError, TypeError, ValueError) as error:
                reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
                result.skipped.append(Defect(location, f"not a {SCHEMA_OF_KIND[kind]} record: {reason}"))
    return result
