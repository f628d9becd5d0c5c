"""The string-level records every task reader returns."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from biogpt.data.formats import Triplet


@dataclass(frozen=True)
class StudyRelation:
    """A gold or predicted relation of the domain-specificity study's datasets (CDR, ChemProt, DCE, DDI-2013).

    Each argument holds the names that count for it, the first being the one a target renders: a CDR
    entity has every mention text of its MeSH id, the other datasets one name per argument. DCE
    relations have one argument per drug of the combination (order irrelevant to scoring); the others
    have a head and a tail. ``label`` is the dataset's class (CPR:3, mechanism, POS, ...; CID for CDR).
    """

    arguments: tuple[tuple[str, ...], ...]
    label: str

    @property
    def names(self) -> tuple[str, ...]:
        """The rendered name of each argument."""
        return tuple(argument[0] for argument in self.arguments)


@dataclass(frozen=True)
class Example:
    """One (source, target) pair with the structured gold label it was rendered from.

    ``id`` is the release's document id (PMID, DDI document id) or, for line-based files, the
    0-based index of the example among the file's non-blank lines, i.e. its line in the release's
    ``.x``/``.y`` output, which is how the release aligns predictions with gold labels.
    Relation tasks fill ``triplets`` (in target order, as rendered) and, for BC5CDR, ``triplet_ids``
    (the chemical and disease MeSH ids of each triplet, what BC5CDR is scored on); PubMedQA fills
    ``answer``; HoC fills ``labels``; the study's tasks fill ``relations`` (in target order).
    """

    id: str
    source: str
    target: str
    triplets: tuple[Triplet, ...] = ()
    triplet_ids: tuple[tuple[str, str], ...] = ()
    answer: str | None = None
    labels: tuple[str, ...] = ()
    relations: tuple[StudyRelation, ...] = ()


@dataclass(frozen=True)
class SkippedRecord:
    """A raw record left out of a split, and why: kept so that nothing is dropped silently."""

    record_id: str
    reason: str


@dataclass(frozen=True)
class TaskSplit:
    """The examples of one split, in release order, with the records that did not become examples.

    ``skipped`` holds malformed records (missing fields, wrong types); ``dropped`` holds the ids of
    well-formed documents the release leaves out by design (relation documents without relations);
    ``left_out`` counts, by what they are, the well-formed annotations the task's settings leave out (a
    custom task's relation filters and de-duplication).
    """

    examples: list[Example]
    skipped: list[SkippedRecord] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)
