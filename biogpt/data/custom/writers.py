"""Documents written in the exchange formats :mod:`biogpt.data.custom` reads: brat standoff, BioC XML
and JSON, PubTator and ``bigbio_kb`` records.

They write what the readers read back (the model's predictions for a curator's annotation tool, see
:mod:`biogpt.data.custom.writeback`; the conversions of the real corpora in the tests). Relations between
concepts (PubTator's) are written in PubTator only; the other formats take relations between entities.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from biogpt.data.custom.document import Document, Entity


def brat_lines(document: Document) -> list[str]:
    """The ``.ann`` lines of ``document``: ``T`` lines, ``R`` lines and one ``*`` line per concept
    shared by several mentions. brat ids are a kind letter and a number, so entities are renumbered
    ``T1``... and relations ``R1``... in document order."""
    number = {entity.id: f"T{index}" for index, entity in enumerate(document.entities, start=1)}
    lines = []
    for entity in document.entities:
        fragments = ";".join(f"{span.start} {span.end}" for span in entity.spans)
        lines.append(f"{number[entity.id]}\t{entity.type} {fragments}\t{entity.text}")
    for index, relation in enumerate(document.relations, start=1):
        lines.append(f"R{index}\t{relation.type} Arg1:{number[relation.head]} Arg2:{number[relation.tail]}")
    groups: dict[str, list[str]] = {}
    for entity in document.entities:
        for concept in entity.concepts[:1]:
            groups.setdefault(concept, []).append(number[entity.id])
    lines.extend(f"*\tEquiv {' '.join(ids)}" for ids in groups.values() if len(ids) > 1)
    return lines


def write_brat(document: Document, directory: Path) -> Path:
    """``<directory>/<id>.txt`` and ``.ann``; returns the ``.ann`` path."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{document.id}.txt").open("w", encoding="utf-8", newline="") as handle:
        handle.write(document.text)
    ann = directory / f"{document.id}.ann"
    ann.write_text("".join(f"{line}\n" for line in brat_lines(document)), encoding="utf-8")
    return ann


def _infon(parent: ET.Element, key: str, value: str) -> None:
    ET.SubElement(parent, "infon", key=key).text = value


def _passage_index(document: Document, entity: Entity) -> int:
    """The passage an entity's first span starts in (the last passage starting at or before it)."""
    start = entity.spans[0].start if entity.spans else 0
    return max((i for i, p in enumerate(document.passages) if p.offset <= start), default=0)


def bioc_xml(documents: list[Document]) -> str:
    """A BioC XML collection: passages with their entities; relations at document level."""
    collection = ET.Element("collection")
    for tag in ("source", "date", "key"):
        ET.SubElement(collection, tag).text = "biogpt" if tag == "source" else ""
    for document in documents:
        doc = ET.SubElement(collection, "document")
        ET.SubElement(doc, "id").text = document.id
        for index, passage in enumerate(document.passages):
            element = ET.SubElement(doc, "passage")
            if passage.id:
                _infon(element, "type", passage.id)
            ET.SubElement(element, "offset").text = str(passage.offset)
            ET.SubElement(element, "text").text = passage.text
            for entity in (e for e in document.entities if _passage_index(document, e) == index):
                annotation = ET.SubElement(element, "annotation", id=entity.id)
                _infon(annotation, "type", entity.type)
                if entity.concepts:
                    _infon(annotation, "identifier", "|".join(entity.concepts))
                for span in entity.spans:
                    ET.SubElement(
                        annotation, "location", offset=str(span.start), length=str(span.end - span.start)
                    )
                ET.SubElement(annotation, "text").text = entity.text
        for relation in document.relations:
            element = ET.SubElement(doc, "relation", id=relation.id)
            _infon(element, "type", relation.type)
            ET.SubElement(element, "node", refid=relation.head, role="Arg1")
            ET.SubElement(element, "node", refid=relation.tail, role="Arg2")
    ET.indent(collection)
    # XML parsers turn a literal carriage return into a line feed; a character reference keeps it, and
    # with it every offset after it.
    body = ET.tostring(collection, encoding="unicode").replace("\r", "&#13;")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def bigbio_kb(document: Document) -> dict[str, Any]:
    """A ``bigbio_kb`` record of ``document``."""
    return {
        "id": document.id,
        "document_id": document.id,
        "passages": [
            {
                "id": p.id or str(i),
                "type": p.id,
                "text": [p.text],
                "offsets": [[p.offset, p.offset + len(p.text)]],
            }
            for i, p in enumerate(document.passages)
        ],
        "entities": [
            {
                "id": e.id,
                "type": e.type,
                "text": [document.text[s.start : s.end] for s in e.spans] if e.spans else [e.text],
                "offsets": [[s.start, s.end] for s in e.spans],
                "normalized": [
                    {"db_name": c.split(":", 1)[0], "db_id": c.split(":", 1)[-1]} for c in e.concepts
                ],
            }
            for e in document.entities
        ],
        "events": [],
        "coreferences": [],
        "relations": [
            {"id": r.id, "type": r.type, "arg1_id": r.head, "arg2_id": r.tail, "normalized": []}
            for r in document.relations
        ],
    }


def write_jsonl(records: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def pubtator_lines(document: Document) -> list[str]:
    """Title and abstract lines (the first two passages, or the text and an empty abstract), mention
    lines and relation lines (between concepts, or between the entities' own ids)."""
    title = document.passages[0].text if document.passages else ""
    abstract = document.passages[1].text if len(document.passages) > 1 else ""
    lines = [f"{document.id}|t|{title}", f"{document.id}|a|{abstract}"]
    for entity in document.entities:
        span = entity.spans[0]
        ids = "|".join(entity.concepts) or entity.id
        lines.append(f"{document.id}\t{span.start}\t{span.end}\t{entity.text}\t{entity.type}\t{ids}")
    concept = {e.id: (e.concepts[0] if e.concepts else e.id) for e in document.entities}
    for relation in document.relations:
        head, tail = (r if relation.by_concept else concept[r] for r in (relation.head, relation.tail))
        lines.append(f"{document.id}\t{relation.type}\t{head}\t{tail}")
    return lines
