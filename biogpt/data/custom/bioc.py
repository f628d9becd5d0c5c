"""BioC (https://bioc.sourceforge.net, the BioC DTD and its JSON rendering): collections of documents.

A ``document`` has an ``id`` and ``passage``s, each with an ``offset``, an optional ``text`` and
``annotation``s (``infon key="type"``, one ``location offset length`` per fragment, ``text``; a concept
id in ``infon key="identifier"``) and ``relation``s (``infon key="type"``, ``node refid role``: the
first node the head, the second the tail); relations may also sit at document level. A node that names
no annotation but a concept id is a relation between concepts. Offsets count from the document's
start, so passages are placed at their offsets. BioC JSON (``{"documents": [...]}``) has the same
structure with ``infons`` objects and ``locations`` lists.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.parsers import expat

from biogpt.data.custom.document import CorpusRead, Document, Entity, Location, Passage, Relation, Span
from biogpt.errors import DataFileError
from biogpt.textfiles import read_json

TYPE_INFONS: tuple[str, ...] = ("type",)
CONCEPT_INFONS: tuple[str, ...] = ("identifier",)
RELATION_TYPE_INFONS: tuple[str, ...] = ("type", "relation")
_EXPECTED_XML = "a BioC XML collection"
_EXPECTED_JSON = 'a BioC JSON collection: {"documents": [...]}'


def _parse_with_lines(path: Path) -> tuple[ET.Element, dict[int, int]]:
    """The XML tree of ``path`` and each element's line (by ``id``), which ElementTree does not keep."""
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}
    parser = expat.ParserCreate()

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = builder.start(tag, attributes)
        lines[id(element)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as error:
        raise DataFileError.at(
            path, error.lineno, f"not well-formed XML: {expat.ErrorString(error.code)}", _EXPECTED_XML
        ) from error
    return builder.close(), lines


def _infon(infons: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((infons[key] for key in keys if infons.get(key)), None)


def _entity(ann: dict[str, Any], location: Location) -> Entity:
    infons = ann["infons"]
    spans = tuple(Span(offset, offset + length) for offset, length in ann["locations"])
    concept = _infon(infons, CONCEPT_INFONS)
    concepts = tuple(c for c in (concept or "").split("|") if c and c != "-1")
    return Entity(ann["id"], _infon(infons, TYPE_INFONS) or "", spans, ann["text"], location, concepts)


def _relations(raw: list[dict[str, Any]], known: set[str], concepts: set[str]) -> list[Relation]:
    relations = []
    for rel in raw:
        nodes = rel["nodes"]
        if len(nodes) < 2:
            raise ValueError(f"relation {rel['id']!r} has {len(nodes)} node(s), expected 2")
        head, tail = nodes[0], nodes[1]
        by_concept = head not in known and tail not in known and head in concepts and tail in concepts
        relation_type = _infon(rel["infons"], RELATION_TYPE_INFONS) or ""
        relations.append(Relation(rel["id"], relation_type, head, tail, rel["location"], by_concept))
    return relations


def _document(doc: dict[str, Any]) -> Document:
    """A document from its plain-dict form (shared by XML and JSON)."""
    passages, entities, raw_relations = [], [], []
    for index, passage in enumerate(doc["passages"]):
        passages.append(
            Passage(passage["infons"].get("type", str(index)), passage["offset"], passage["text"])
        )
        entities.extend(_entity(ann, ann["location"]) for ann in passage["annotations"])
        raw_relations.extend(passage["relations"])
    raw_relations.extend(doc["relations"])  # in file order: a document's own relations follow its passages
    known = {e.id for e in entities}
    concepts = {c for e in entities for c in e.concepts}
    relations = _relations(raw_relations, known, concepts)
    return Document(doc["id"], tuple(passages), tuple(entities), tuple(relations), doc["location"])


def _xml_infons(element: ET.Element) -> dict[str, str]:
    return {infon.get("key", ""): (infon.text or "") for infon in element.findall("infon")}


def _xml_int(element: ET.Element, tag: str, attribute: str | None = None) -> int:
    raw = element.get(attribute) if attribute else element.findtext(tag)
    try:
        return int(raw or "")
    except ValueError:
        raise ValueError(f"{tag} {raw!r} is not an integer") from None


def _xml_documents(path: Path) -> list[tuple[int, dict[str, Any]]]:
    root, lines = _parse_with_lines(path)
    if root.tag != "collection":
        raise DataFileError.at(path, 1, f"root element <{root.tag}>", _EXPECTED_XML)

    def where(element: ET.Element) -> Location:
        return Location(str(path), lines.get(id(element), 0))

    def relation(element: ET.Element) -> dict[str, Any]:
        nodes = [node.get("refid", "") for node in element.findall("node")]
        return {
            "id": element.get("id", ""),
            "infons": _xml_infons(element),
            "nodes": nodes,
            "location": where(element),
        }

    documents = []
    for doc in root.iter("document"):
        passages = []
        for passage in doc.findall("passage"):
            annotations = [
                {
                    "id": ann.get("id", ""),
                    "infons": _xml_infons(ann),
                    "locations": [
                        (_xml_int(loc, "offset", "offset"), _xml_int(loc, "length", "length"))
                        for loc in ann.findall("location")
                    ],
                    "text": ann.findtext("text") or "",
                    "location": where(ann),
                }
                for ann in passage.findall("annotation")
            ]
            passages.append(
                {
                    "infons": _xml_infons(passage),
                    "offset": _xml_int(passage, "offset"),
                    "text": passage.findtext("text") or "",
                    "annotations": annotations,
                    "relations": [relation(r) for r in passage.findall("relation")],
                }
            )
        record = {
            "id": doc.findtext("id") or "",
            "passages": passages,
            "relations": [relation(r) for r in doc.findall("relation")],
            "location": where(doc),
        }
        documents.append((lines.get(id(doc), 0), record))
    return documents


def _json_documents(path: Path) -> list[tuple[int, dict[str, Any]]]:
    data = read_json(path, _EXPECTED_JSON)
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise DataFileError.at(path, 1, "no 'documents' list at the top level", _EXPECTED_JSON)
    location = Location(str(path))

    def relation(rel: dict[str, Any]) -> dict[str, Any]:
        nodes = [node["refid"] for node in rel.get("nodes", [])]
        return {
            "id": rel.get("id", ""),
            "infons": rel.get("infons", {}),
            "nodes": nodes,
            "location": location,
        }

    documents = []
    for doc in data["documents"]:
        passages = [
            {
                "infons": p.get("infons", {}),
                "offset": int(p["offset"]),
                "text": p.get("text") or "",
                "annotations": [
                    {
                        "id": a.get("id", ""),
                        "infons": a.get("infons", {}),
                        "locations": [
                            (int(loc["offset"]), int(loc["length"])) for loc in a.get("locations", [])
                        ],
                        "text": a.get("text") or "",
                        "location": location,
                    }
                    for a in p.get("annotations", [])
                ],
                "relations": [relation(r) for r in p.get("relations", [])],
            }
            for p in doc.get("passages", [])
        ]
        record = {
            "id": str(doc.get("id", "")),
            "passages": passages,
            "relations": [relation(r) for r in doc.get("relations", [])],
            "location": location,
        }
        documents.append((0, record))
    return documents


def read_bioc(files: list[Path]) -> CorpusRead:
    """Every document of the BioC XML (``.xml``) and BioC JSON (``.json``) files among ``files``."""
    result = CorpusRead()
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in (".xml", ".json"):
            continue
        try:
            documents = _xml_documents(path) if suffix == ".xml" else _json_documents(path)
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, DataFileError):
                raise
            raise DataFileError(f"{path}: not a BioC collection ({error})") from error
        for line, doc in documents:
            try:
                result.records.append(_document(doc))
            except (KeyError, TypeError, ValueError) as error:
                raise DataFileError(
                    f"{Location(str(path), line)}: malformed BioC document ({error})"
                ) from error
    return result
