"""``task=custom``: the built-in scorers applied to a user's corpus.

Relations are scored by the corrected scoring of :mod:`biogpt.evaluation.study` (gold de-duplicated
per example, predictions paired with gold relations one to one), with P/R/F1 per relation type and
their macro F1. A predicted name matches a gold argument when it is one of the argument's mention
names; ``task.symmetric`` types match in either order. Classification reads the labels after HoC's
lead and QA the answer after PubMedQA's (:mod:`biogpt.evaluation.classification`). ``match=lower``
(``eval.match``) compares names, labels and answers with case and whitespace folded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Sequence
from pathlib import Path

from biogpt.data.custom.corpus import read_split
from biogpt.data.custom.document import Question
from biogpt.data.custom.examples import custom_wording
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.custom.writeback import WriteBack, write_back
from biogpt.data.tasks import Example, StudyRelation, load_task_split
from biogpt.evaluation.base import Scores, make_record, precision_recall_f1
from biogpt.evaluation.classification import FAILED, accuracy_and_macro_f1, micro_f1, split_labels
from biogpt.evaluation.parsing import generation_reader
from biogpt.evaluation.study import RelationScoring, score_relations

logger = logging.getLogger(__name__)


def _relation_scoring(config: CustomTaskSettings, examples: Sequence[Example]) -> RelationScoring:
    wording = custom_wording(config, examples)
    norm = config.normalize
    symmetric = set(config.symmetric)

    def names(relation: StudyRelation) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(norm(name) for name in argument) for argument in relation.arguments)

    def matches(predicted: StudyRelation, gold: StudyRelation) -> bool:
        if predicted.label != gold.label:
            return False
        said = tuple(norm(name) for name in predicted.names)
        known = names(gold)
        orders = [known, known[::-1]] if gold.label in symmetric else [known]
        return any(all(n in k for n, k in zip(said, order, strict=True)) for order in orders)

    def key(relation: StudyRelation) -> Hashable:
        arguments = names(relation)
        return (frozenset(arguments) if relation.label in symmetric else arguments), relation.label

    types = sorted({r.label for e in examples for r in e.relations} | set(config.relation_types or ()))
    return RelationScoring(
        extract=wording.extract,
        matches=matches,
        key=key,
        empty_target=wording.empty_target,
        corrected=True,
        types=tuple(types),
    )


def _available_splits(config: CustomTaskSettings) -> list[str]:
    return [s for s in config.splits if s != "test" or config.test is not None]


def closed_labels(config: CustomTaskSettings) -> tuple[str, ...]:
    """The classification label set: ``task.labels``, else every gold label of the corpus's splits."""
    if config.labels is not None:
        return config.labels
    found = {
        label
        for s in _available_splits(config)
        for e in load_task_split(config, s).examples
        for label in e.labels
    }
    return tuple(sorted(found))


def closed_answers(config: CustomTaskSettings) -> tuple[str, ...]:
    """The QA answer set: ``task.answers``, else the records' choices; empty: free-text answers."""
    if config.answers is not None:
        return config.answers
    choices = [
        choice
        for s in _available_splits(config)
        for record in read_split(config, s).records
        if isinstance(record, Question)
        for choice in record.choices
    ]
    return tuple(dict.fromkeys(choices))  # in the records' order, as they list them


def _score_classification(
    config: CustomTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """Micro P/R/F1 over (example, label) cells as HoC (labels outside the set ignored), exact-set
    accuracy, and each label's P/R/F1 with their macro F1."""
    norm = config.normalize
    labels = [norm(label) for label in closed_labels(config)]
    read = generation_reader(config)
    answers = [read(g).label for g in generations]
    predicted = [[norm(label) for label in split_labels(a)] for a in answers]
    gold = [[norm(label) for label in e.labels] for e in examples]
    metrics = micro_f1(predicted, gold, labels)
    metrics["accuracy"] = sum(set(p) == set(g) for p, g in zip(predicted, gold, strict=True)) / len(gold)
    per_label = {}
    for label in labels:
        tp = sum(label in p and label in g for p, g in zip(predicted, gold, strict=True))
        fp = sum(label in p and label not in g for p, g in zip(predicted, gold, strict=True))
        fn = sum(label not in p and label in g for p, g in zip(predicted, gold, strict=True))
        per_label |= {f"{label}/{k}": v for k, v in precision_recall_f1(tp, fp, fn).items()}
    metrics["macro_f1"] = sum(per_label[f"{label}/f1"] for label in labels) / len(labels)
    metrics |= per_label
    records = [
        make_record(e, g, list(e.labels), None if a is None else labels_, a is None)
        for e, g, a, labels_ in zip(examples, generations, answers, predicted, strict=True)
    ]
    extracted = [FAILED if a is None else a for a in answers]
    return Scores(config.name, split, metrics, answers.count(None), records, {"extracted.txt": extracted})


def _score_qa(
    config: CustomTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """Accuracy and macro F1 over a closed answer set (as PubMedQA), exact match for free text."""
    norm = config.normalize
    read = generation_reader(config)
    answers = [read(g).label for g in generations]
    said = [None if a is None else norm(a) for a in answers]
    gold = [norm(e.answer or "") for e in examples]
    closed = closed_answers(config)
    if closed:
        metrics = accuracy_and_macro_f1(said, gold, [norm(answer) for answer in closed])
    else:
        metrics = {"exact_match": sum(s == g for s, g in zip(said, gold, strict=True)) / len(gold)}
    records = [
        make_record(e, g, e.answer, a, a is None)
        for e, g, a in zip(examples, generations, answers, strict=True)
    ]
    extracted = [FAILED if a is None else a for a in answers]
    return Scores(config.name, split, metrics, answers.count(None), records, {"extracted.txt": extracted})


def score_custom(
    config: CustomTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """The generations of a custom task's split scored by its kind."""
    if config.kind == "classification":
        return _score_classification(config, split, examples, generations)
    if config.kind == "qa":
        return _score_qa(config, split, examples, generations)
    return score_relations(config.name, split, examples, generations, _relation_scoring(config, examples))


def write_predictions_back(config: CustomTaskSettings, scores: Scores, out_dir: Path) -> WriteBack | None:
    """The scored relations of a brat, BioC or PubTator corpus written back in its format under
    ``<out_dir>/predictions/``, with ``summary.json`` (what was written, the arguments not found)."""
    if config.kind != "relation":
        return None
    predicted = {
        record["id"]: [
            (row["arguments"][0][0], row["label"], row["arguments"][1][0]) for row in record["parsed"]
        ]
        for record in scores.records
    }
    result = write_back(config, scores.split, predicted, out_dir / "predictions")
    if result is None:
        return None
    summary = {
        "documents": result.documents,
        "entities": result.entities,
        "relations": result.relations,
        "arguments_not_found": [{"id": unit, "argument": name} for unit, name in result.not_found],
    }
    (result.directory / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    logger.info(
        "predictions in the corpus's format: %s (%d relations; %d arguments not found in their text)",
        result.directory,
        result.relations,
        len(result.not_found),
    )
    return result
