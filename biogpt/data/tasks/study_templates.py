"""The study's instruction templates: sources, target sentences and the extraction of relations from text.

Reproduces the hard templates of bionlproc/DS-PT-IFT (``templates/*/templates.py``, ``E2eReHardTemplate1``
and DCE's ``E2eReHardTemplate1_sentence``). A source is ``{instruction}\\n\\n{text}\\n\\n``; DCE's
instruction itself ends in two newlines, so its source has four before the sentence, as the study's.
(The study's DDI hard template writes ``{instruction} \\n {text} \\n ``; we use the ``\\n\\n`` layout of
the other three for DDI too, as the issue specifies.) A target joins one clause per relation with
"; " and ends in "."; a document without relations gets the dataset's no-relation sentence.

Extraction follows the study: strip one final ".", split on ";", read each clause with the study's
regular expression (``re.search``, so text before "relation between" is ignored), and keep distinct
relations (the study's ``unique_dicts``; we keep first-occurrence order where its set had none).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from biogpt.data.formats import BC5CDR_RELATION
from biogpt.data.tasks.dce import POSITIVE, dce_class_map
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.types import StudyRelation

JOINER = "; "
_LIST_SEPARATORS = re.compile(", and |, | and ")


@dataclass(frozen=True)
class StudyTemplate(ABC):
    """What every study template shares; subclasses render and read one clause."""

    instruction: str
    empty_target: str

    def source(self, text: str) -> str:
        return f"{self.instruction}\n\n{text}\n\n"

    def target(self, relations: Sequence[StudyRelation]) -> str:
        if not relations:
            return self.empty_target
        return JOINER.join(self.clause(relation) for relation in relations) + "."

    def extract(self, generated: str) -> list[StudyRelation]:
        """The distinct relations of a generated target, in the order first generated."""
        text = generated[:-1] if generated.endswith(".") else generated
        found: dict[Hashable, StudyRelation] = {}
        for clause in text.split(";"):
            relation = self.read_clause(clause)
            if relation is not None:
                found.setdefault(self.key(relation), relation)
        return list(found.values())

    @abstractmethod
    def clause(self, relation: StudyRelation) -> str:
        """One relation as a clause, its arguments by their rendered names."""

    @abstractmethod
    def read_clause(self, clause: str) -> StudyRelation | None:
        """The relation a generated clause states, each argument a single name; None if it states none."""

    @abstractmethod
    def key(self, relation: StudyRelation) -> Hashable:
        """What makes two relations the same one."""

    @abstractmethod
    def words(self) -> set[str]:
        """The template's text apart from entity names (for constrained decoding)."""


@dataclass(frozen=True)
class PairTemplate(StudyTemplate):
    """Head-tail relations (CDR, ChemProt, DDI): ``form`` over {head}, {tail} and {label} (the class's text).

    ``pattern`` is the study's regular expression; with a third group it reads the class text, mapped
    back through ``labels`` and ``aliases`` or, as the study's ``QueryDict``, passed through unmapped
    (so it matches no gold class); without one the class is the template's only class.
    """

    form: str
    pattern: str
    labels: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)

    def clause(self, relation: StudyRelation) -> str:
        head, tail = relation.names
        return self.form.format(head=head, tail=tail, label=self.labels[relation.label])

    def read_clause(self, clause: str) -> StudyRelation | None:
        match = re.search(self.pattern, clause)
        if match is None:
            return None
        if match.re.groups < 3:
            (label,) = self.labels
        else:
            texts = {text: label for label, text in self.labels.items()} | self.aliases
            label = texts.get(match.group(3), match.group(3))
        return StudyRelation(((match.group(1),), (match.group(2),)), label)

    def key(self, relation: StudyRelation) -> Hashable:
        return relation.arguments, relation.label

    def words(self) -> set[str]:
        return {self.form.format(head="", tail="", label=text) for text in self.labels.values()}


@dataclass(frozen=True)
class CombinationTemplate(StudyTemplate):
    """DCE's n-ary drug combinations: "A, B, and C participate in a [positive ]drug combination".

    The study's class text for a non-positive combination is the empty string, which leaves a double
    space ("in a  drug combination"); we write one space. A clause is read as the study does: split on
    "participate" (exactly two parts), the drugs split on ", and ", ", " or " and ", stripped, " - "
    closed to "-"; the class is positive exactly when "positive" follows.
    """

    other: str
    positive: str = POSITIVE

    def clause(self, relation: StudyRelation) -> str:
        names = relation.names
        listed = (
            names[0]
            if len(names) == 1
            else f"{', '.join(names[:-1])}{',' if len(names) > 2 else ''} and {names[-1]}"
        )
        return f"{listed} {self._predicate(relation.label)}"

    def _predicate(self, label: str) -> str:
        return f"participate in a {'positive ' if label == self.positive else ''}drug combination"

    def read_clause(self, clause: str) -> StudyRelation | None:
        parts = clause.split("participate")
        if len(parts) != 2:
            return None
        names = (name.strip().replace(" - ", "-") for name in _LIST_SEPARATORS.split(parts[0]))
        label = self.positive if "positive" in parts[1] else self.other
        return StudyRelation(tuple((name,) for name in dict.fromkeys(names)), label)

    def key(self, relation: StudyRelation) -> Hashable:
        return frozenset(relation.arguments), relation.label

    def words(self) -> set[str]:
        return {self._predicate(self.positive), self._predicate(self.other), ", and", ","}


_RELATIONS_BETWEEN = "Find all instances of relations between {} in the following passage:"
_PAIR_TEMPLATES: dict[str, PairTemplate] = {
    "cdr": PairTemplate(
        instruction=_RELATIONS_BETWEEN.format("chemicals and diseases"),
        # The study's CDR template overrides the target so that a document without relations is ".".
        empty_target=".",
        form="The relation between {head} and {tail} exists",
        pattern=r"relation between (.*) and (.*?) exists",
        labels={BC5CDR_RELATION: ""},
    ),
    "chemprot": PairTemplate(
        instruction=_RELATIONS_BETWEEN.format("chemicals and proteins"),
        empty_target="No drug-gene relationships are established.",
        form="the relation between {head} and {tail} is {label}",
        pattern=r"relation between (.*) and (.*) is (.*)",
        labels={
            "CPR:3": "upregulation",
            "CPR:4": "downregulation",
            "CPR:5": "agonist",
            "CPR:6": "antagonist",
            "CPR:9": "substrate and/or product",
        },
        aliases={"substrate": "CPR:9", "product": "CPR:9"},
    ),
    "ddi2013": PairTemplate(
        instruction="Find all instances of drug-drug relations in the following passage:",
        empty_target="No drug-drug interactions are established.",
        form="the relation between {head} and {tail} is {label}",
        pattern=r"relation between (.*) and (.*) is (.*)",
        labels={"int": "interaction", "mechanism": "mechanism", "effect": "effect", "advise": "advice"},
    ),
}
_DCE_INSTRUCTION = (
    "Find all instances of drugs used in combination and whether this combination had a positive impact "
    "on health in the following sentence:\n\n"
)


def study_template(config: StudyTaskSettings) -> StudyTemplate:
    """The template of the study task ``config`` describes (DCE's depends on its class mapping)."""
    if config.name != "dce":
        return _PAIR_TEMPLATES[config.name]
    classes = set(dce_class_map(config).values())
    others = sorted(classes - {POSITIVE})
    if POSITIVE not in classes or len(others) != 1:
        raise ValueError(
            f"DCE classes {sorted(classes)}: the study's template tells {POSITIVE} from one other class only"
        )
    return CombinationTemplate(_DCE_INSTRUCTION, "No drug combinations are established.", other=others[0])


def template_words(config: StudyTaskSettings) -> set[str]:
    """The task's output text apart from entity names: clause words, joiners and the no-relation sentence."""
    template = study_template(config)
    return template.words() | {JOINER.strip(), ".", template.empty_target}
