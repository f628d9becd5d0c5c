"""The string-level records every task reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from biogpt.data.formats import Triplet


@dataclass(frozen=True)
class Example:
    """One (source, target) pair with the structured gold label it was rendered from.

    ``id`` is the release's document id (PMID, DDI document id) or, for line-based files, the
    0-based index of the example among the file's non-blank lines, i.e. its line in the release's
    ``.x``/``.y`` output, which is how the release aligns predictions with gold labels.
    Relation tasks fill ``triplets`` (in target order, as rendered) and, for BC5CDR, ``triplet_ids``
    (the chemical and disease MeSH ids of each triplet, what BC5CDR is scored on); PubMedQA fills
    ``answer``; HoC fills ``labels``.
    """

    id: str
    source: str
    target: str
    triplets: tuple[Triplet, ...] = ()
    triplet_ids: tuple[tuple[str, str], ...] = ()
    answer: str | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedRecord:
    """A raw record left out of a split, and why: kept so that nothing is dropped silently."""

    record_id: str
    reason: str


@dataclass(frozen=True)
class TaskSplit:
    """The examples of one split, in release order, with the records that did not become examples.

    ``skipped`` holds malformed records (missing fields, wrong types); ``dropped`` holds the ids of
    well-formed documents the release leaves out by design (relation documents without relations).
    """

    examples: list[Example]
    skipped: list[SkippedRecord] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
