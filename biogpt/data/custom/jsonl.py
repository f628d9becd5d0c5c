"""Our JSON-lines records, one object a line (a ``.json`` file may hold one JSON array of them):

* relation: ``{"id", "text", "relations": [{"head", "type", "tail"}]}``, arguments as their mention
  strings (each distinct string one entity);
* classification: ``{"id", "text", "label"}`` or ``{"id", "text", "labels": [...]}``;
* QA: ``{"id", "question", "context", "answer"}``, ``context`` a string or a list of strings, and
  optionally ``"choices"``.

The id, text and label keys are ``task.id_field``, ``task.text_field`` and ``task.label_field``.
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
    Record,
    Relation,
)
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.errors import DataFileError
from biogpt.textfiles import numbered_lines, parse_json, read_json

_EXPECTED = "one JSON object a line"


def json_records(path: Path) -> Iterator[tuple[Location, Any]]:
    """The records of a JSON-lines file (each at its line) or of a ``.json`` array (at line 0)."""
    if path.suffix.lower() == ".json":
        data = read_json(path, "a JSON array of records, or one JSON object a line")
        if isinstance(data, list):
            for record in data:
                yield Location(str(path)), record
            return
        if isinstance(data, dict):
            yield Location(str(path), 1), data
            return
    for number, line in numbered_lines(path, _EXPECTED):
        if line.strip():
            yield Location(str(path), number), parse_json(line, path, _EXPECTED, number)


def text_field(record: dict[str, Any], key: str) -> str:
    """``record[key]`` as a string (a number is its text); a ValueError names a missing or other field."""
    value = record.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(
            f"field {key!r} is {'missing' if value is None else type(value).__name__}, expected a string"
        )
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string or a list of strings")


def _relation_record(record: dict[str, Any], config: CustomTaskSettings, location: Location) -> Document:
    doc_id, text = text_field(record, config.id_field), text_field(record, config.text_field)
    raw = record.get("relations", [])
    if not isinstance(raw, list):
        raise ValueError("field 'relations' is not a list")
    entities: dict[str, Entity] = {}
    relations = []
    for index, rel in enumerate(raw):
        if not isinstance(rel, dict):
            raise ValueError(f"relations[{index}] is {type(rel).__name__}, expected an object")
        head, relation_type, tail = (text_field(rel, key) for key in ("head", "type", "tail"))
        for name in (head, tail):
            entities.setdefault(name, Entity(f"E{len(entities) + 1}", "", (), name, location))
        relations.append(
            Relation(f"R{index + 1}", relation_type, entities[head].id, entities[tail].id, location)
        )
    passages = (Passage("", 0, text),)
    return Document(doc_id, passages, tuple(entities.values()), tuple(relations), location)


def _labelled(record: dict[str, Any], config: CustomTaskSettings, location: Location) -> LabelledText:
    doc_id, text = text_field(record, config.id_field), text_field(record, config.text_field)
    key = config.label_field if config.label_field in record else "labels"
    if key not in record:
        raise ValueError(f"no {config.label_field!r} or 'labels' field")
    value = record[key]
    if isinstance(value, str) and config.label_separator:
        labels = tuple(part.strip() for part in value.split(config.label_separator))
    else:
        labels = _strings(value, key)
    return LabelledText(doc_id, text, labels, location)


def _question(record: dict[str, Any], config: CustomTaskSettings, location: Location) -> Question:
    choices = _strings(record["choices"], "choices") if record.get("choices") else ()
    return Question(
        text_field(record, config.id_field),
        text_field(record, "question"),
        _strings(record.get("context"), "context"),
        text_field(record, "answer"),
        location,
        choices,
    )


READERS = {"relation": _relation_record, "classification": _labelled, "qa": _question}


def read_jsonl(files: list[Path], config: CustomTaskSettings) -> CorpusRead:
    """The ``.jsonl``/``.json`` records of ``files`` as ``config.kind`` reads them; a record with a
    wrong field is skipped with its line, a line that is not JSON raises naming it."""
    result = CorpusRead()
    read = READERS[config.kind]
    for path in files:
        if path.suffix.lower() not in (".jsonl", ".json"):
            continue
        for location, record in json_records(path):
            try:
                if not isinstance(record, dict):
                    raise ValueError(f"record is {type(record).__name__}, expected an object")
                item: Record = read(record, config, location)
            except ValueError as error:
                result.skipped.append(Defect(location, str(error)))
                continue
            result.records.append(item)
    if not result.records and not result.skipped:
        raise DataFileError(f"{', '.join(map(str, files))}: no JSON records")
    return result
