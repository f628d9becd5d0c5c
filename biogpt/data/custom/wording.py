"""How a custom corpus's relations read as targets and how generated text reads back as relations.

Two wordings, both the built-in tasks' own machinery: the paper's target formats (``rel-is``, ``svo``,
``is-of``, ``structured``; :mod:`biogpt.data.formats`, rendered and parsed as KD-DTI and DDI are) and
the domain-specificity study's instruction template (:class:`~biogpt.data.tasks.study_templates.PairTemplate`,
as ChemProt's and DDI-2013's, with ``task.instruction`` and ``task.clause``). Relation types read as
``task.verbalize`` words; generated words map back to their type, and words of no known type stay as
they are (so they match no gold relation).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from biogpt.data.custom.settings import STUDY_CLAUSE, CustomTaskSettings
from biogpt.data.formats import GENERIC_FORMATS, TargetFormat, Triplet, parse_target
from biogpt.data.tasks.study_templates import JOINER, PairTemplate
from biogpt.data.tasks.types import StudyRelation

# The study's own expression for its generic clause (ChemProt, DDI-2013), so that the default wording
# reads generations exactly as the study's tasks do.
STUDY_PATTERN = r"relation between (.*) and (.*) is (.*)"
_CLAUSE_SLOT = re.compile(r"\{(head|tail|label)\}")


def clause_pattern(clause: str) -> str:
    """The regular expression that reads ``clause`` back: its literals, each slot a group.

    Slots must be ``{head}``, then ``{tail}``, then optionally ``{label}`` (the study template's
    groups are positional)."""
    if clause == STUDY_CLAUSE:
        return STUDY_PATTERN
    parts = _CLAUSE_SLOT.split(clause)
    if parts[1::2] not in (["head", "tail"], ["head", "tail", "label"]):
        raise ValueError(
            f"task.clause={clause!r}: expected {{head}}, then {{tail}}, then optionally {{label}}, once each"
        )
    return "".join(re.escape(part) if index % 2 == 0 else "(.*)" for index, part in enumerate(parts))


def distinct(relations: Iterable[StudyRelation]) -> list[StudyRelation]:
    """Relations without repeats (same names and type), first occurrence kept."""
    return list({(r.arguments, r.label): r for r in reversed(list(relations))}.values())[::-1]


class RelationWording(ABC):
    """Sources, targets and the reading of generations for one custom relation task."""

    empty_target: str

    @abstractmethod
    def source(self, text: str) -> str: ...

    @abstractmethod
    def target(self, relations: Sequence[StudyRelation]) -> str: ...

    @abstractmethod
    def extract(self, generated: str) -> list[StudyRelation]:
        """The distinct relations a generation states, one name per argument, in generated order."""

    @abstractmethod
    def words(self) -> set[str]:
        """The target text apart from entity names (constrained decoding's template words)."""


@dataclass(frozen=True)
class StudyWording(RelationWording):
    template: PairTemplate

    @property
    def empty_target(self) -> str:  # type: ignore[override]
        return self.template.empty_target

    def source(self, text: str) -> str:
        return self.template.source(text)

    def target(self, relations: Sequence[StudyRelation]) -> str:
        return self.template.target(relations)

    def extract(self, generated: str) -> list[StudyRelation]:
        return self.template.extract(generated)

    def words(self) -> set[str]:
        return self.template.words() | {JOINER.strip(), ".", self.template.empty_target}


@dataclass(frozen=True)
class FormatWording(RelationWording):
    fmt: TargetFormat
    type_words: dict[str, str]
    empty_target: str

    def source(self, text: str) -> str:
        return text

    def triplets(self, relations: Sequence[StudyRelation]) -> tuple[Triplet, ...]:
        return tuple(Triplet(r.names[0], self.type_words[r.label], r.names[1]) for r in relations)

    def target(self, relations: Sequence[StudyRelation]) -> str:
        return self.fmt.render(self.triplets(relations)) if relations else self.empty_target

    def extract(self, generated: str) -> list[StudyRelation]:
        types = {words: relation_type for relation_type, words in self.type_words.items()}
        parsed = parse_target(
            generated, self.fmt, relations=sorted(types), empty_target=self.empty_target
        ).triplets
        return distinct(
            StudyRelation(((t.head,), (t.tail,)), types.get(t.relation, t.relation)) for t in parsed
        )

    def words(self) -> set[str]:
        clauses = {self.fmt.render_clause(Triplet("", words, "")) for words in self.type_words.values()}
        return clauses | {self.fmt.joiner, ".", self.empty_target}


def relation_wording(config: CustomTaskSettings, types: Iterable[str]) -> RelationWording:
    """The wording of ``config`` for relations of ``types`` (and those ``config`` names)."""
    known = sorted({*types, *(config.relation_types or ()), *(config.verbalize or {})})
    type_words = {relation_type: config.words(relation_type) for relation_type in known}
    if config.target_format != "study":
        return FormatWording(GENERIC_FORMATS[config.target_format], type_words, config.empty_target)
    pattern = clause_pattern(config.clause)
    if "{label}" not in config.clause and len(type_words) > 1:
        raise ValueError(
            f"task.clause={config.clause!r} names no {{label}}, but the corpus has {len(type_words)} "
            f"relation types ({', '.join(type_words)}): add {{label}} or keep one type (task.relation_types)"
        )
    template = PairTemplate(
        instruction=config.instruction,
        empty_target=config.empty_target,
        form=config.clause,
        pattern=pattern,
        labels=type_words,
    )
    return StudyWording(template)
