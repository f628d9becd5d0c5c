"""``biogpt-data validate``: every split of a task read, counted and checked before any model is built.

Per split: records, examples, relations per type, entity types, labels or answers, annotation lines
read but unused, relations the task's filters leave out, gold labels or answers outside the closed set
``task.labels``/``task.answers`` (which scoring ignores), ids that occur twice, records the readers
skipped, and the defects that make a corpus unusable as it is (each at its file and line): a relation
whose argument does not exist, an entity whose offsets fall outside its document's text, an entity
whose annotated text differs from the text at its offsets. Across splits: the examples whose text an
earlier split holds too, and the types a custom relation task's settings name that no split holds.
``train.py`` runs the same check (:func:`check_corpus`) before it builds a model. A built-in task is
read through its own reader: its examples and skipped records are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from biogpt.data.custom.corpus import read_split, split_format
from biogpt.data.custom.document import Defect, Document
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.sequences import SequenceLayout
from biogpt.data.tasks import Example, TaskSettings, TaskSplit, load_task_split
from biogpt.errors import DataFileError
from biogpt.tokenizer.protocol import Tokenizer


@dataclass
class SplitSummary:
    """What :func:`validate_task` found in one split."""

    split: str
    examples: int
    format: str | None = None
    files: int = 0
    records: int = 0
    relation_types: Counter[str] = field(default_factory=Counter)
    entity_types: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    unused: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    outside: Counter[str] = field(default_factory=Counter)
    closed_set: str = ""
    duplicates: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    over_length: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # each example's source, spaces folded -> its id
    annotated_types: set[str] = field(default_factory=set)  # relation types read, before any filter


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


def document_defects(document: Document) -> list[Defect]:
    """The defects of one annotated document (see the module docstring)."""
    text = document.text
    defects = []
    for entity in document.entities:
        where = f"entity {entity.id} ({entity.type})"
        spans = ", ".join(f"{s.start}-{s.end}" for s in entity.spans)
        if any(not 0 <= s.start <= s.end <= len(text) for s in entity.spans):
            defects.append(
                Defect(
                    entity.location,
                    f"{where}: offsets {spans} outside the text of {document.id} ({len(text)} characters)",
                    True,
                )
            )
            continue
        covered = " ".join(text[s.start : s.end] for s in entity.spans)
        if entity.spans and not _same_text(covered, entity.text):
            defects.append(
                Defect(
                    entity.location,
                    f"{where}: text {entity.text!r} differs from {covered!r} at its offsets {spans}",
                    True,
                )
            )
    entity_ids = {e.id for e in document.entities}
    concepts = {c for e in document.entities for c in e.concepts}
    for relation in document.relations:
        known = concepts if relation.by_concept else entity_ids
        missing = [arg for arg in (relation.head, relation.tail) if arg not in known]
        if missing:
            kind = "concept with a mention" if relation.by_concept else "entity"
            defects.append(
                Defect(
                    relation.location,
                    f"relation {relation.id} ({relation.type}): argument {', '.join(missing)} is no {kind} "
                    f"of {document.id}",
                    True,
                )
            )
    return defects


def _duplicates(ids: Sequence[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def _example_counts(summary: SplitSummary, task_split: TaskSplit) -> None:
    examples = task_split.examples
    summary.labels.update(label for e in examples for label in e.labels)
    summary.labels.update(e.answer for e in examples if e.answer is not None)
    summary.relation_types.update(r.label for e in examples for r in e.relations)
    if not any(e.relations for e in examples):
        summary.relation_types.update(t.relation for e in examples for t in e.triplets)
    summary.duplicates = _duplicates([e.id for e in examples])
    summary.skipped = [f"{s.record_id}: {s.reason}" for s in task_split.skipped]
    summary.left_out = task_split.left_out
    summary.texts = {" ".join(e.source.split()): e.id for e in examples}


def _outside_closed_set(config: CustomTaskSettings, examples: Sequence[Example]) -> tuple[str, Counter[str]]:
    """The closed set's option (``task.labels``, or ``task.answers`` for QA) and the gold labels
    (answers) it lacks, as ``eval.match`` compares them: scoring has no class for them, so a misspelt
    label in the set loses its examples quietly."""
    classification = config.kind == "classification"
    option, closed = ("task.labels", config.labels) if classification else ("task.answers", config.answers)
    if closed is None:
        return option, Counter()
    known = {config.normalize(value) for value in closed}
    gold = [label for e in examples for label in (*e.labels, *([e.answer] if e.answer is not None else []))]
    return option, Counter(label for label in gold if config.normalize(label) not in known)


def validate_split(config: TaskSettings, split: str) -> SplitSummary:
    """One split read and checked; a file that cannot be read at all, or a split without an example,
    raises (DataFileError)."""
    task_split = load_task_split(config, split)
    summary = SplitSummary(split, len(task_split.examples))
    _example_counts(summary, task_split)
    if isinstance(config, CustomTaskSettings):
        summary.format, files = split_format(config, split)
        summary.files = len(files)
        read = read_split(config, split)
        summary.records = len(read.records)
        summary.unused = read.unused
        summary.duplicates = _duplicates([r.id for r in read.records]) or summary.duplicates
        summary.closed_set, summary.outside = _outside_closed_set(config, task_split.examples)
        for record in read.records:
            if isinstance(record, Document):
                summary.entity_types.update(e.type for e in record.entities)
                summary.annotated_types.update(r.type for r in record.relations)
                summary.defects.extend(document_defects(record))
    return summary


def validate_task(config: TaskSettings) -> list[SplitSummary]:
    """Every split of the task (a custom task without ``test``: train and valid)."""
    splits = [
        s
        for s in config.splits
        if not (isinstance(config, CustomTaskSettings) and s == "test" and config.test is None)
    ]
    return [validate_split(config, split) for split in splits]


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key or '(none)'} {count}" for key, count in sorted(counter.items())) or "none"


def overlaps(summaries: Sequence[SplitSummary]) -> list[str]:
    """The examples of a split whose text an earlier split holds too (under any id): a model evaluated
    on them is scored on what it trained on. Said, not refused: an overfitting check does it on purpose."""
    lines = []
    for index, earlier in enumerate(summaries):
        for later in summaries[index + 1 :]:
            shared = [example_id for text, example_id in later.texts.items() if text in earlier.texts]
            if shared:
                lines.append(
                    f"overlap: {len(shared)} {later.split} example(s) have the text of a {earlier.split} "
                    f"example: {', '.join(shared[:10])}"
                )
    return lines


def unmatched_settings(config: TaskSettings, summaries: Sequence[SplitSummary]) -> list[str]:
    """The relation and entity types that a custom relation task's settings name (``task.verbalize``,
    ``symmetric``, ``relation_types``, ``entity_types``) and no split holds: a misspelt type is
    otherwise ignored quietly (its relations keep the default wording, or a filter keeps nothing)."""
    if not isinstance(config, CustomTaskSettings) or config.kind != "relation":
        return []
    relation_types = set().union(*(s.annotated_types for s in summaries))
    entity_types = set().union(*(s.entity_types for s in summaries))
    named = {
        "task.verbalize": (tuple(config.verbalize or ()), relation_types),
        "task.symmetric": (config.symmetric, relation_types),
        "task.relation_types": (config.relation_types or (), relation_types),
        "task.entity_types": (config.entity_types or (), entity_types),
    }
    return [
        f"{option} names types no split holds: {', '.join(unknown)} (the corpus's: "
        f"{', '.join(sorted(held)) or 'none'})"
        for option, (types, held) in named.items()
        if (unknown := [name for name in types if name not in held])
    ]


def render(summaries: Sequence[SplitSummary], config: TaskSettings) -> str:
    """The report ``biogpt-data validate`` prints."""
    lines = []
    for s in summaries:
        read = f" ({s.format}, {s.files} file(s), {s.records} records)" if s.format else ""
        lines.append(f"{s.split}: {s.examples} examples{read}")
        if s.relation_types:
            lines.append(f"  relations per type: {_counts(s.relation_types)}")
        if s.entity_types:
            lines.append(f"  entity types: {_counts(s.entity_types)}")
        if s.labels:
            lines.append(f"  labels: {_counts(s.labels)}")
        if s.unused:
            lines.append(f"  read, not used: {_counts(s.unused)}")
        if s.left_out:
            lines.append(f"  left out by the task's settings: {_counts(s.left_out)}")
        if s.outside:
            lines.append(f"  gold, not in {s.closed_set} (scoring has no class for it): {_counts(s.outside)}")
        if s.duplicates:
            lines.append(f"  duplicate ids ({len(s.duplicates)}): {', '.join(s.duplicates[:20])}")
        if s.over_length:
            lines.append(
                f"  over the model's positions ({len(s.over_length)}): {', '.join(s.over_length[:20])}"
            )
        lines.extend(f"  skipped: {skip}" for skip in s.skipped)
        lines.extend(f"  defect: {defect}" for defect in s.defects)
    return "\n".join([*lines, *overlaps(summaries), *unmatched_settings(config, summaries)])


def fatal(summaries: Sequence[SplitSummary]) -> list[Defect]:
    return [d for s in summaries for d in s.defects if d.fatal]


def check_corpus(config: CustomTaskSettings, splits: Sequence[str]) -> None:
    """Raise a DataFileError listing every defect of ``splits`` that makes the corpus unusable, each at
    its place (what ``train.py`` runs before building a model)."""
    found = [d for split in dict.fromkeys(splits) for d in validate_split(config, split).defects if d.fatal]
    if found:
        listed = "\n".join(f"  {d}" for d in found[:50])
        more = f"\n  ... and {len(found) - 50} more" if len(found) > 50 else ""
        raise DataFileError(
            f"the corpus has {len(found)} defect(s); run biogpt-data validate for a report:\n{listed}{more}"
        )


def over_length(task_split: TaskSplit, tokenizer: Tokenizer, layout: SequenceLayout) -> list[str]:
    """Ids of the examples a model with ``layout`` cannot read whole: a source over its source positions
    (cut with "..." when read) or a target with its ``</s>`` over the target positions."""
    sources = tokenizer.encode_batch([e.source for e in task_split.examples])
    targets = tokenizer.encode_batch([e.target for e in task_split.examples])
    return [
        e.id
        for e, source, target in zip(task_split.examples, sources, targets, strict=True)
        if not layout.fits(len(source), len(target))
    ]
