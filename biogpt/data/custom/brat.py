"""brat standoff (https://brat.nlplab.org/standoff.html): ``doc.txt`` with ``doc.ann`` beside it.

``.ann`` lines are tab-separated, their kind told by the id's first character: ``T`` a text-bound
annotation (``T1<TAB>Type 0 5;9 14<TAB>text``: fragments separated by ";", ends exclusive, the text of
a discontinuous one its fragments joined by a space), ``R`` a relation (``R1<TAB>Type Arg1:T1 Arg2:T2``,
the first argument the head), ``*`` an equivalence (``*<TAB>Equiv T1 T2 ...``: one concept, so a
relation argument is named from all its mentions). ``E`` (events), ``A``/``M`` (attributes), ``N``
(normalizations) and ``#`` (notes) carry nothing a relation task renders; they are read and counted.
A document's id is its file name without the extension.
"""

from __future__ import annotations

import re
from pathlib import Path

from biogpt.data.custom.document import CorpusRead, Document, Entity, Location, Passage, Relation, Span
from biogpt.errors import DataFileError
from biogpt.textfiles import numbered_lines

_TEXT_BOUND = re.compile(r"(T\S*)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)")
_RELATION = re.compile(r"(R\S*)\t(\S+) (\S+):(\S+) (\S+):(\S+)\s*")
_EQUIVALENCE = re.compile(r"\*\S*\t\S+((?: \S+)+)\s*")
_UNUSED_KINDS = {"E": "event", "A": "attribute", "M": "attribute", "N": "normalization", "#": "note"}
_EXPECTED = "brat standoff lines: T (text-bound), R (relation), * (equivalence), E, A, M, N or # lines"


def _read_text(path: Path) -> str:
    try:
        # newline="" keeps "\r\n" as two characters, as brat's offsets count them.
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing; a brat .ann file needs its .txt beside it") from None
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: not UTF-8 text ({error.reason})") from error


def _concepts(equivalences: list[list[str]]) -> dict[str, str]:
    """Entity id -> concept id: equivalence groups merged where they share an entity."""
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        while parent.setdefault(item, item) != item:
            item = parent[item]
        return item

    for group in equivalences:
        for other in group[1:]:
            parent[root(other)] = root(group[0])
    return {entity: f"*{root(entity)}" for entity in parent}


def read_brat_document(ann: Path) -> tuple[Document, CorpusRead]:
    """One ``.ann`` file with its text; a line that is no brat annotation raises naming it."""
    text = _read_text(ann.with_suffix(".txt"))
    entities: list[Entity] = []
    relations: list[Relation] = []
    equivalences: list[list[str]] = []
    unused = CorpusRead()
    for number, line in numbered_lines(ann, _EXPECTED):
        if not line.strip():
            continue
        location = Location(str(ann), number)
        kind = line[0]
        if kind == "T":
            match = _TEXT_BOUND.fullmatch(line)
            if match is None:
                raise DataFileError.at(ann, number, f"malformed text-bound line {line[:60]!r}", _EXPECTED)
            entity_id, entity_type, fragments, mention = match.groups()
            spans = tuple(Span(*map(int, pair.split())) for pair in fragments.split(";"))
            entities.append(Entity(entity_id, entity_type, spans, mention, location))
        elif kind == "R":
            match = _RELATION.fullmatch(line)
            if match is None:
                raise DataFileError.at(ann, number, f"malformed relation line {line[:60]!r}", _EXPECTED)
            relation_id, relation_type, _, head, _, tail = match.groups()
            relations.append(Relation(relation_id, relation_type, head, tail, location))
        elif kind == "*":
            match = _EQUIVALENCE.fullmatch(line)
            if match is None:
                raise DataFileError.at(ann, number, f"malformed equivalence line {line[:60]!r}", _EXPECTED)
            equivalences.append(match.group(1).split())
        elif kind in _UNUSED_KINDS:
            unused.unused[f"brat {kind} ({_UNUSED_KINDS[kind]}) lines"] += 1
        else:
            raise DataFileError.at(ann, number, f"unknown annotation kind {kind!r}", _EXPECTED)
    concept_of = _concepts(equivalences)
    entities = [
        Entity(e.id, e.type, e.spans, e.text, e.location, concepts=(concept_of[e.id],))
        if e.id in concept_of
        else e
        for e in entities
    ]
    document = Document(
        ann.stem, (Passage("", 0, text),), tuple(entities), tuple(relations), Location(str(ann), 1)
    )
    return document, unused


def read_brat(files: list[Path]) -> CorpusRead:
    """Every ``.ann`` file among ``files`` (with its ``.txt``), in path order; the other files (a
    README, or a corpus in another format read with ``task.format=brat``) are counted."""
    result = CorpusRead()
    annotations = [f for f in files if f.suffix.lower() == ".ann"]
    texts = {ann.with_suffix(".txt") for ann in annotations}
    for ann in annotations:
        document, unused = read_brat_document(ann)
        result.records.append(document)
        result.extend(unused)
    others = [f for f in files if f.suffix.lower() != ".ann" and f not in texts]
    if others:
        result.unused["non-brat files (neither an .ann nor its .txt)"] += len(others)
    return result
