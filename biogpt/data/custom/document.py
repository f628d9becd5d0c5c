"""The records every reader returns: what a corpus says, before any task renders it.

Offsets are character offsets into the document text (end exclusive), as brat, BioC, PubTator and
BigBIO all count them; a document's text places each passage at its offset (gaps are spaces), so an
offset means the same in a passage and in the whole document.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where a record was read: a file and a 1-based line (0 when the format has no lines: Parquet)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Entity:
    """A mention: its spans (several for a discontinuous one), its annotated text and its concept.

    ``concepts`` are the normalized ids it is a mention of (PubTator's MeSH ids, BigBIO's
    ``db_name:db_id``, a brat equivalence class), empty for a mention that is its own entity;
    ``parts`` are the texts of a composite mention's parts (PubTator's seventh column), one per concept.
    """

    id: str
    type: str
    spans: tuple[Span, ...]
    text: str
    location: Location
    concepts: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relation:
    """A typed, directed relation between two arguments: entity ids, or concept ids when ``by_concept``
    (PubTator's relation lines)."""

    id: str
    type: str
    head: str
    tail: str
    location: Location
    by_concept: bool = False


@dataclass(frozen=True)
class Passage:
    id: str
    offset: int
    text: str


@dataclass(frozen=True)
class Document:
    """One annotated document: passages with their offsets, entities and relations, in file order."""

    id: str
    passages: tuple[Passage, ...]
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]
    location: Location

    @property
    def text(self) -> str:
        """The passages laid out at their offsets, gaps filled with spaces."""
        text = ""
        for passage in self.passages:
            text = text.ljust(passage.offset)[: passage.offset] + passage.text
        return text


@dataclass(frozen=True)
class LabelledText:
    """A text with its class labels (classification)."""

    id: str
    text: str
    labels: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class Question:
    """A question about a context with its gold answer and, where given, the answer choices."""

    id: str
    question: str
    contexts: tuple[str, ...]
    answer: str
    location: Location
    choices: tuple[str, ...] = ()


Record = Document | LabelledText | Question


@dataclass(frozen=True)
class Defect:
    """Something wrong with a record, at its place; ``fatal`` when the data cannot be used as they are."""

    location: Location
    message: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class CorpusRead:
    """What a reader made of one split's files: records in file order, the records it skipped (as
    defects), and the annotation lines it read but has no use for, counted by kind (brat ``E``/``A``/
    ``N``/``#`` lines, BigBIO events), so nothing is dropped without a count."""

    records: list[Record] = field(default_factory=list)
    skipped: list[Defect] = field(default_factory=list)
    unused: Counter[str] = field(default_factory=Counter)

    def extend(self, other: CorpusRead) -> None:
        self.records.extend(other.records)
        self.skipped.extend(other.skipped)
        self.unused.update(other.unused)
