"""A custom corpus's records as the (source, target) examples of the built-in tasks' wording.

Relations: each unit (a document, or with ``task.unit=passage`` each passage) becomes one example whose
target lists its relations in file order (:mod:`.wording`), or ``task.empty_target`` when it has none.
An argument is named from its mentions: an entity's own text, or, for a concept (a normalized id, a
brat equivalence, a BigBIO coreference chain), the texts of all its mentions in the unit (and of
composite mentions' parts, as CDR names them), the rendered one chosen by ``task.mention``. A relation
whose argument does not exist, or whose arguments lie in different units, cannot be rendered: it is
reported in ``skipped`` with its place, the rest of its unit kept. Relations of types or between
entities of types outside ``task.relation_types``/``task.entity_types`` are left out and counted.
Classification reads as HoC and QA as PubMedQA (:mod:`biogpt.data.tasks.hoc`, ``.pubmedqa``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from biogpt.data.custom.corpus import no_examples_error, read_split
from biogpt.data.custom.document import Defect, Document, Entity, LabelledText, Question, Relation
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.custom.wording import FormatWording, RelationWording, relation_wording
from biogpt.data.tasks.hoc import ANSWER_LEAD as HOC_LEAD
from biogpt.data.tasks.hoc import sentence_source
from biogpt.data.tasks.pubmedqa import ANSWER_LEAD as QA_LEAD
from biogpt.data.tasks.pubmedqa import question_source
from biogpt.data.tasks.types import Example, SkippedRecord, StudyRelation, TaskSplit
from biogpt.errors import DataFileError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    """What one relation example is made of: an id, a text and the entities and relations in it."""

    id: str
    text: str
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]
    offset: int = 0  # where the text starts in its document's


def rendered_first(names: Sequence[str], mention: str) -> tuple[str, ...]:
    """An argument's distinct names, the one its targets render first: ``first`` the first mention,
    ``longest`` the longest (the first such on ties), ``study`` Python's ``max`` (the alphabetically
    last, as the domain-specificity study's ``longest()`` computes it for CDR)."""
    distinct = list(dict.fromkeys(name for name in names if name))
    if mention == "first":
        chosen = distinct[0]
    else:
        chosen = max(distinct) if mention == "study" else max(distinct, key=len)
    return (chosen, *(name for name in distinct if name != chosen))


def units(document: Document, unit: str, defects: list[Defect]) -> list[Unit]:
    """The document as one unit, or one per passage; relations across passages go to ``defects``."""
    if unit == "document" or len(document.passages) < 2:
        return [Unit(document.id, document.text, document.entities, document.relations)]
    passage_of: dict[str, int] = {}
    for entity in document.entities:
        start = entity.spans[0].start if entity.spans else -1
        for index, passage in enumerate(document.passages):
            if passage.offset <= start < passage.offset + max(len(passage.text), 1):
                passage_of[entity.id] = index
    concept_passages: dict[str, set[int]] = {}
    for entity in document.entities:
        for concept in entity.concepts:
            if entity.id in passage_of:
                concept_passages.setdefault(concept, set()).add(passage_of[entity.id])
    in_passage: dict[int, list[Relation]] = {}
    for relation in document.relations:
        if relation.by_concept:
            places = concept_passages.get(relation.head, set()) & concept_passages.get(relation.tail, set())
        elif relation.head not in passage_of or relation.tail not in passage_of:
            places = {0}  # an argument that does not exist: reported as such, with the first passage
        else:
            places = {passage_of[relation.head]} & {passage_of[relation.tail]}
        if not places:
            defects.append(
                Defect(relation.location, f"relation {relation.id} ({relation.type}) crosses passages")
            )
        for place in places:
            in_passage.setdefault(place, []).append(relation)
    return [
        Unit(
            f"{document.id}/{passage.id or index}",
            passage.text,
            tuple(e for e in document.entities if passage_of.get(e.id) == index),
            tuple(in_passage.get(index, ())),
            passage.offset,
        )
        for index, passage in enumerate(document.passages)
    ]


class _Arguments:
    """Argument names within one unit: entity texts, grouped by concept where mentions share one."""

    def __init__(self, unit: Unit, config: CustomTaskSettings) -> None:
        self.config = config
        self.entities = {entity.id: entity for entity in unit.entities}
        self.concept_names: dict[str, list[str]] = {}
        self.concept_types: dict[str, str] = {}
        for entity in unit.entities:
            for concept in entity.concepts:
                self.concept_names.setdefault(concept, []).append(entity.text)
                self.concept_types.setdefault(concept, entity.type)
            for concept, part in zip(entity.concepts, entity.parts, strict=False):
                self.concept_names[concept].append(part)

    def resolve(self, reference: str, by_concept: bool) -> tuple[tuple[str, ...], str]:
        """(names, entity type) of an argument; a ValueError names one that does not exist."""
        if by_concept:
            if reference not in self.concept_names:
                raise ValueError(f"argument {reference!r} is no concept with a mention in the document")
            names, entity_type = self.concept_names[reference], self.concept_types[reference]
        else:
            if reference not in self.entities:
                raise ValueError(f"argument {reference!r} is no entity of the document")
            entity = self.entities[reference]
            names = self.concept_names[entity.concepts[0]] if entity.concepts else [entity.text]
            entity_type = entity.type
        if self.config.lowercase != "none":
            names = [name.lower() for name in names]
        if not any(names):
            raise ValueError(f"argument {reference!r} has no mention text")
        return rendered_first(names, self.config.mention), entity_type


def unit_relations(
    unit: Unit, config: CustomTaskSettings, defects: list[Defect], filtered: Counter[str]
) -> tuple[StudyRelation, ...]:
    """The unit's renderable relations in file order (filtered, resolved, optionally de-duplicated)."""
    arguments = _Arguments(unit, config)
    relations: list[StudyRelation] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    for relation in unit.relations:
        if config.relation_types is not None and relation.type not in config.relation_types:
            filtered[f"relations of type {relation.type}"] += 1
            continue
        try:
            (head, head_type), (tail, tail_type) = (
                arguments.resolve(reference, relation.by_concept)
                for reference in (relation.head, relation.tail)
            )
        except ValueError as error:
            defects.append(Defect(relation.location, f"relation {relation.id} ({relation.type}): {error}"))
            continue
        if config.entity_types is not None and not {head_type, tail_type} <= set(config.entity_types):
            filtered[f"relations between {head_type} and {tail_type}"] += 1
            continue
        key = ((head[0], tail[0]), relation.type)
        if config.deduplicate and key in seen:
            filtered["repeated relations"] += 1
            continue
        seen.add(key)
        relations.append(StudyRelation((head, tail), relation.type))
    return tuple(relations)


def _relation_examples(
    documents: Sequence[Document], config: CustomTaskSettings, defects: list[Defect], filtered: Counter[str]
) -> list[Example]:
    rendered: list[tuple[Unit, tuple[StudyRelation, ...]]] = []
    for document in documents:
        for unit in units(document, config.unit, defects):
            rendered.append((unit, unit_relations(unit, config, defects, filtered)))
    wording = relation_wording(config, {r.label for _, relations in rendered for r in relations})
    examples = []
    for unit, relations in rendered:
        triplets = wording.triplets(relations) if isinstance(wording, FormatWording) else ()
        examples.append(
            Example(
                unit.id,
                unit_source(config, wording, unit.text),
                wording.target(relations),
                triplets=triplets,
                relations=relations,
            )
        )
    return examples


def unit_source(config: CustomTaskSettings, wording: RelationWording, text: str) -> str:
    """The source of a relation unit's text in ``wording`` (lower-cased with ``task.lowercase=all``)."""
    text = text.rstrip("\r\n")  # a text file's final line break is no part of the source
    return wording.source(text.lower() if config.lowercase == "all" else text)


def classification_example(record: LabelledText) -> Example:
    """HoC's rendering: the text with a final "." added when missing; labels joined by "|"."""
    source = sentence_source(record.text.strip())
    return Example(record.id, source, f"{HOC_LEAD} {'|'.join(record.labels)}.", labels=record.labels)


def qa_example(record: Question) -> Example:
    """PubMedQA's rendering: "question: ... context: ... " and the answer after its lead."""
    source = question_source(record.question, record.contexts)
    return Example(record.id, source, f"{QA_LEAD} {record.answer}.", answer=record.answer)


def custom_wording(config: CustomTaskSettings, examples: Sequence[Example]) -> RelationWording:
    """The relation wording of a split's examples (for scoring and constrained decoding)."""
    return relation_wording(config, {r.label for e in examples for r in e.relations})


RECORD_OF_KIND: dict[str, type] = {"relation": Document, "classification": LabelledText, "qa": Question}


def load_custom_split(config: CustomTaskSettings, split: str) -> TaskSplit:
    """The examples of ``split``, with every record or relation that could not be used in ``skipped``.

    Records of another kind than ``task.kind`` (annotated documents read for a classification task)
    are a DataFileError naming the first of them."""
    read = read_split(config, split)
    defects = list(read.skipped)
    filtered: Counter[str] = Counter()
    records = read.records
    expected = RECORD_OF_KIND[config.kind]
    wrong = next((r for r in records if not isinstance(r, expected)), None)
    if wrong is not None:
        raise DataFileError(
            f"{wrong.location}: a {type(wrong).__name__} record, but task.kind={config.kind} reads "
            f"{expected.__name__} records"
        )
    if config.kind == "relation":
        examples = _relation_examples(
            [r for r in records if isinstance(r, Document)], config, defects, filtered
        )
    elif config.kind == "classification":
        examples = [classification_example(r) for r in records if isinstance(r, LabelledText)]
    else:
        examples = [qa_example(r) for r in records if isinstance(r, Question)]
    skipped = [SkippedRecord(str(d.location), d.message) for d in defects]
    for defect in defects:
        logger.warning("custom %s: %s", split, defect)
    for what, count in sorted((read.unused | filtered).items()):
        logger.info("custom %s: %d %s read and not used", split, count, what)
    logger.info("custom %s: %d examples, %d records or relations skipped", split, len(examples), len(skipped))
    if not examples:
        raise no_examples_error(config, split, read, len(skipped))
    return TaskSplit(examples, skipped=skipped, left_out=filtered)
