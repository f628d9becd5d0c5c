"""Generated texts back to what they state, configured as the task's examples were rendered.

One reading per task, used both by the scorers (which then compare it with the gold) and by extraction
(which has no gold): :func:`generation_reader` reads one generation into a :class:`ReadGeneration`
with exactly the functions the scorers call (:func:`triplet_parser` for the release's relation tasks,
the study template's or custom wording's ``extract`` with :func:`states_nothing`, and
:func:`biogpt.data.formats.parse_answer` after the task's lead for HoC, PubMedQA and custom
classification and QA).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from biogpt.data.custom.wording import relation_wording
from biogpt.data.formats import ParseResult, Triplet, get_format, parse_answer, parse_target
from biogpt.data.tasks import (
    Example,
    HoCSettings,
    PubMedQASettings,
    RelationTaskSettings,
    StudyRelation,
    StudyTaskSettings,
    TaskSettings,
    study_template,
)
from biogpt.data.tasks.hoc import ANSWER_LEAD as HOC_LEAD
from biogpt.data.tasks.pubmedqa import ANSWER_LEAD as QA_LEAD


def relation_vocabulary(examples: Sequence[Example]) -> list[str]:
    """The sorted set of the examples' gold relations: a relation task's closed label set."""
    return sorted({t.relation for e in examples for t in e.triplets})


def triplet_parser(
    config: RelationTaskSettings, relations: Sequence[str] | None
) -> Callable[[str], ParseResult]:
    """How one generation of a release relation task parses: ``config``'s target format with the
    release's greedy defaults. Formats that render relations as verbs (svo) map verbs back through
    ``relations`` (the task's closed label set, not per-document knowledge); other formats ignore it.
    With ``keep_empty`` the task's empty target parses to no triplets, not to a failure."""
    fmt = get_format(config.name, config.target_format)
    vocabulary = list(relations or ()) if fmt.needs_relations else None
    empty_target = config.empty_target if config.keep_empty else None
    return lambda generated: parse_target(generated, fmt, relations=vocabulary, empty_target=empty_target)


def parse_relation_generations(
    config: RelationTaskSettings, examples: Sequence[Example], generations: Sequence[str]
) -> list[ParseResult]:
    """Each generation parsed by :func:`triplet_parser`, the relation vocabulary being the split's
    gold relations (:func:`relation_vocabulary`)."""
    parse = triplet_parser(config, relation_vocabulary(examples))
    return [parse(g) for g in generations]


def states_nothing(predicted: Collection[StudyRelation], generated: str, empty_target: str) -> bool:
    """Whether a study-style generation failed to parse: it states no relation and is not the task's
    no-relation sentence."""
    return not predicted and generated.strip() != empty_target


def triplet_rows(triplets: Sequence[Triplet]) -> list[list[str]]:
    """Triplets as JSON rows ``[head, relation, tail]`` for predictions.jsonl."""
    return [[t.head, t.relation, t.tail] for t in triplets]


@dataclass(frozen=True)
class ReadGeneration:
    """What one generated text states, read without its gold.

    ``relations``: (head, type, tail) in generated order (a study relation of more than two arguments,
    a DCE drug combination, has its first drug as head and the others, joined by ", ", as tail);
    ``label``: a classification's labels ("|"-joined, as generated) or a QA answer; ``failed``: what
    the task's scorer counts as a parse failure.
    """

    relations: tuple[Triplet, ...] = ()
    label: str | None = None
    failed: bool = False


def _study_triplet(relation: StudyRelation) -> Triplet:
    names = relation.names
    return Triplet(names[0], relation.label, ", ".join(names[1:]))


def _relation_reader(
    extract: Callable[[str], list[StudyRelation]], empty_target: str
) -> Callable[[str], ReadGeneration]:
    def read(generated: str) -> ReadGeneration:
        predicted = extract(generated)
        triplets = tuple(_study_triplet(r) for r in predicted)
        return ReadGeneration(triplets, failed=states_nothing(predicted, generated, empty_target))

    return read


def _answer_reader(lead: str) -> Callable[[str], ReadGeneration]:
    def read(generated: str) -> ReadGeneration:
        answer = parse_answer(generated, lead)
        return ReadGeneration(label=answer, failed=answer is None)

    return read


def generation_reader(
    task: TaskSettings, relation_types: Sequence[str] = ()
) -> Callable[[str], ReadGeneration]:
    """How ``task``'s scorer reads one generation, without the gold.

    ``relation_types``: the task's closed relation label set, which svo's verbs and a custom corpus's
    type words map back to (the scorers take it from the scored split's gold relations).
    """
    if isinstance(task, RelationTaskSettings):
        parse = triplet_parser(task, relation_types)

        def read_triplets(generated: str) -> ReadGeneration:
            result = parse(generated)
            return ReadGeneration(result.triplets, failed=result.failed)

        return read_triplets
    if isinstance(task, StudyTaskSettings):
        template = study_template(task)
        return _relation_reader(template.extract, template.empty_target)
    if isinstance(task, HoCSettings):
        return _answer_reader(HOC_LEAD)
    if isinstance(task, PubMedQASettings):
        return _answer_reader(QA_LEAD)
    if task.kind == "relation":
        wording = relation_wording(task, relation_types)
        return _relation_reader(wording.extract, wording.empty_target)
    return _answer_reader(HOC_LEAD if task.kind == "classification" else QA_LEAD)
