"""PubTator (as BioCreative V CDR's ``CDR_*.PubTator.txt``): documents separated by blank lines.

``pmid|t|title`` and ``pmid|a|abstract`` lines, then mention lines ``pmid start end text type ids``
(tab-separated; ``ids`` joined by "|", ``-1`` none; a composite mention adds its parts' texts in a
seventh column) and relation lines ``pmid type id id`` over concept ids. The title is passage 0 at
offset 0 and the abstract passage 1 one character after it, so the text is "title abstract" and the
mention offsets index it. A document's id is its PMID.
"""

from __future__ import annotations

from pathlib import Path

from biogpt.data.custom.document import (
    CorpusRead,
    Defect,
    Document,
    Entity,
    Location,
    Passage,
    Relation,
    Span,
)
from biogpt.data.tasks.cdr import pubtator_document, pubtator_documents


def _document(path: Path, block: list[tuple[int, str]]) -> Document:
    """One document; a ValueError's message is why it cannot be read."""
    lines = pubtator_document(block)
    entities: list[Entity] = []
    relations: list[Relation] = []
    for number, fields in lines.annotations:
        location = Location(str(path), number)
        if len(fields) == 4:
            relations.append(
                Relation(f"R{len(relations) + 1}", fields[1], fields[2], fields[3], location, True)
            )
            continue
        start, end, text, entity_type, ids = fields[1:6]
        concepts = tuple(i for i in ids.split("|") if i and i != "-1")
        parts = tuple(fields[6].split("|")) if len(fields) > 6 else ()
        span = Span(int(start), int(end))
        entities.append(
            Entity(f"M{len(entities) + 1}", entity_type, (span,), text, location, concepts, parts)
        )
    passages = (Passage("title", 0, lines.title), Passage("abstract", len(lines.title) + 1, lines.abstract))
    return Document(lines.pmid, passages, tuple(entities), tuple(relations), Location(str(path), block[0][0]))


def read_pubtator(files: list[Path]) -> CorpusRead:
    """Every document of every file; a line of another format raises naming it (see
    :func:`biogpt.data.tasks.cdr.pubtator_documents`), a document without title or abstract is skipped."""
    result = CorpusRead()
    for path in files:
        for block in pubtator_documents(path):
            try:
                result.records.append(_document(path, block))
            except ValueError as error:
                result.skipped.append(Defect(Location(str(path), block[0][0]), str(error)))
    return result
