"""A model's relations written back in its corpus's format, for a curator's annotation tool.

Each predicted argument becomes an entity at its first whole-word, case-insensitive occurrence in the
text of the unit it was predicted for (brat ``T``, BioC ``annotation``, PubTator mention), typed
``Predicted``; each relation between two located arguments a relation (brat ``R``, a BioC document
``relation``, a PubTator relation line). Arguments found nowhere are returned, to be listed, and their
relations are not written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from biogpt.data.custom.corpus import read_split, split_format
from biogpt.data.custom.document import Document, Entity, Location, Relation, Span
from biogpt.data.custom.examples import units
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.custom.writers import bioc_xml, pubtator_lines, write_brat

WRITABLE_FORMATS: tuple[str, ...] = ("brat", "bioc", "pubtator")
PREDICTED_TYPE = "Predicted"
# (head, type, tail) of one predicted relation.
PredictedRelation = tuple[str, str, str]


@dataclass
class WriteBack:
    """What was written: documents, entities and relations, and the arguments not found (unit id, name)."""

    directory: Path
    documents: int = 0
    entities: int = 0
    relations: int = 0
    not_found: list[tuple[str, str]] = field(default_factory=list)


def find_word(text: str, name: str) -> Span | None:
    """The first whole-word, case-insensitive occurrence of ``name`` in ``text``."""
    match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
    return None if match is None else Span(match.start(), match.end())


def _predicted_document(
    document: Document,
    config: CustomTaskSettings,
    predicted: Mapping[str, Sequence[PredictedRelation]],
    result: WriteBack,
) -> Document:
    entities: dict[tuple[int, int], Entity] = {}
    relations: list[Relation] = []
    here = Location(document.location.file)
    for unit in units(document, config.unit, []):
        for head, relation_type, tail in predicted.get(unit.id, ()):
            found = []
            for name in (head, tail):
                span = find_word(unit.text, name)
                if span is None:
                    result.not_found.append((unit.id, name))
                    continue
                span = Span(span.start + unit.offset, span.end + unit.offset)
                key = (span.start, span.end)
                if key not in entities:
                    text = document.text[span.start : span.end]
                    entities[key] = Entity(f"P{len(entities) + 1}", PREDICTED_TYPE, (span,), text, here)
                found.append(entities[key].id)
            if len(found) == 2:
                relations.append(Relation(f"R{len(relations) + 1}", relation_type, found[0], found[1], here))
    ordered = tuple(sorted(entities.values(), key=lambda e: (e.spans[0].start, e.spans[0].end)))
    result.entities += len(ordered)
    result.relations += len(relations)
    return Document(document.id, document.passages, ordered, tuple(relations), document.location)


def write_back(
    config: CustomTaskSettings,
    split: str,
    predicted: Mapping[str, Sequence[PredictedRelation]],
    directory: Path,
) -> WriteBack | None:
    """The predictions of ``split`` (example id -> relations) in the corpus's format under ``directory``
    (brat: one ``.txt``/``.ann`` pair a document; BioC: ``predictions.xml``; PubTator:
    ``predictions.pubtator``); None for a format without annotation tools to open them (BigBIO, JSONL)."""
    fmt, _ = split_format(config, split)
    if fmt not in WRITABLE_FORMATS or config.kind != "relation":
        return None
    result = WriteBack(directory)
    documents = []
    wanted = {unit_id.split("/")[0] for unit_id in predicted}
    for record in read_split(config, split).records:
        if isinstance(record, Document) and (record.id in wanted or record.id in predicted):
            documents.append(_predicted_document(record, config, predicted, result))
    result.documents = len(documents)
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "brat":
        for document in documents:
            write_brat(document, directory)
    elif fmt == "bioc":
        (directory / "predictions.xml").write_text(bioc_xml(documents), encoding="utf-8")
    else:
        text = "".join("\n".join(pubtator_lines(d)) + "\n\n" for d in documents)
        (directory / "predictions.pubtator").write_text(text, encoding="utf-8")
    return result
