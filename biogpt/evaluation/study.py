"""The domain-specificity study's relation scoring (DS-PT-IFT metrics/metrics.py) and a corrected one.

A prediction matches a gold relation with the same class when its names match: CDR, each predicted name
is one of the gold entity's mention names (exact case); ChemProt and DDI-2013, equal strings (ChemProt
gold names are lower-cased; under ``scoring=study`` the prediction is compared as generated, under
``corrected`` lower-cased too); DCE, equal sets of drugs. Predictions are the template's distinct
extracted relations of each generation.

``scoring=study`` counts as the study does, per document: TP = predictions matching any gold relation,
FP = the others, FN = |gold| - TP. Two predictions matching one gold relation (two mention names of one
CDR entity) are both TP, and FN falls, even below zero; gold duplicates (DDI, DCE) can never all be
found. ``corrected`` de-duplicates the gold relations and pairs predictions with them one to one
(a maximum matching): TP = pairs, FN = unpaired gold; a prediction that matches only gold relations
already paired is ``redundant``, counted neither TP nor FP (the usual entity-level choice: it names a
found fact again, not a wrong one); FP = predictions matching nothing. Micro P/R/F1 over all documents.

:func:`score_relations` is the counting itself, configured by a :class:`RelationScoring`; a custom
corpus's relations (:mod:`biogpt.evaluation.custom`) are scored by it too, with per-type P/R/F1.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from biogpt.data.tasks import Example, StudyRelation, StudyTaskSettings, study_template
from biogpt.evaluation.base import Scores, make_record, precision_recall_f1
from biogpt.evaluation.parsing import states_nothing


def _matcher(config: StudyTaskSettings) -> Callable[[StudyRelation, StudyRelation], bool]:
    """Whether a predicted relation (one name per argument) states a gold relation, under ``config``."""
    lower = config.name == "chemprot" and config.scoring == "corrected"

    def matches(predicted: StudyRelation, gold: StudyRelation) -> bool:
        if predicted.label != gold.label:
            return False
        names = tuple(name.lower() for name in predicted.names) if lower else predicted.names
        if config.name == "dce":
            return frozenset(names) == frozenset(gold.names)
        return len(names) == len(gold.arguments) and all(
            name in argument for name, argument in zip(names, gold.arguments, strict=True)
        )

    return matches


def _study_counts(matches: list[list[int]], gold_count: int) -> tuple[dict[str, int], dict[int, int]]:
    """The study's per-document counts from each prediction's matching gold indices (no pairing)."""
    tp = sum(bool(found) for found in matches)
    return {"tp": tp, "fp": len(matches) - tp, "fn": gold_count - tp, "redundant": 0}, {}


def _corrected_counts(matches: list[list[int]], gold_count: int) -> tuple[dict[str, int], dict[int, int]]:
    """One-to-one counts and the pairing (gold index -> prediction index): a maximum matching of
    predictions to gold relations (augmenting paths)."""
    owner: dict[int, int] = {}

    def assign(prediction: int, seen: set[int]) -> bool:
        for gold in matches[prediction]:
            if gold not in seen:
                seen.add(gold)
                if gold not in owner or assign(owner[gold], seen):
                    owner[gold] = prediction
                    return True
        return False

    tp = sum(assign(prediction, set()) for prediction in range(len(matches)))
    fp = sum(not found for found in matches)
    return {"tp": tp, "fp": fp, "fn": gold_count - tp, "redundant": len(matches) - tp - fp}, owner


def _distinct_gold(
    relations: Sequence[StudyRelation], key: Callable[[StudyRelation], Hashable]
) -> list[StudyRelation]:
    distinct: dict[Hashable, StudyRelation] = {}
    for relation in relations:
        distinct.setdefault(key(relation), relation)
    return list(distinct.values())


def _rows(relations: Sequence[StudyRelation]) -> list[dict[str, Any]]:
    return [{"arguments": [list(a) for a in r.arguments], "label": r.label} for r in relations]


@dataclass(frozen=True)
class RelationScoring:
    """How one task reads and matches relations: ``extract`` a generation's distinct relations,
    ``matches`` whether a prediction states a gold relation, ``key`` what makes two gold relations the
    same, ``empty_target`` the no-relation sentence (not a parse failure), ``corrected`` one-to-one
    counting, ``types`` the relation types to give P/R/F1 each and their macro F1 (empty: none)."""

    extract: Callable[[str], list[StudyRelation]]
    matches: Callable[[StudyRelation, StudyRelation], bool]
    key: Callable[[StudyRelation], Hashable]
    empty_target: str
    corrected: bool
    types: tuple[str, ...] = ()


def _per_type(counts: dict[str, dict[str, int]], types: Sequence[str]) -> dict[str, float]:
    """Each type's precision, recall and F1 (``<type>/f1``...) and ``macro_f1``, their mean F1."""
    metrics: dict[str, float] = {}
    for relation_type in types:
        found = counts.get(relation_type, {})
        scores = precision_recall_f1(found.get("tp", 0), found.get("fp", 0), found.get("fn", 0))
        metrics |= {f"{relation_type}/{name}": value for name, value in scores.items()}
    metrics["macro_f1"] = sum(metrics[f"{t}/f1"] for t in types) / len(types)
    return metrics


def score_relations(
    task: str, split: str, examples: Sequence[Example], generations: Sequence[str], scoring: RelationScoring
) -> Scores:
    """Micro precision, recall and F1 of the generations' relations, with the counts behind them (and,
    with ``scoring.types``, per-type P/R/F1 and macro F1: a pair counts for its gold type, an unmatched
    prediction against its own type, an unfound gold relation against its type).

    ``parse_failures`` counts generations that state no relation and are not the no-relation sentence;
    they are scored as predicting nothing.
    """
    if scoring.types and not scoring.corrected:
        raise ValueError("per-type scores need the one-to-one pairing of corrected counting")
    count = _corrected_counts if scoring.corrected else _study_counts
    totals = {"tp": 0, "fp": 0, "fn": 0, "redundant": 0}
    by_type: dict[str, dict[str, int]] = {}
    records, failures = [], 0
    for example, generated in zip(examples, generations, strict=True):
        predicted = scoring.extract(generated)
        gold = (
            _distinct_gold(example.relations, scoring.key) if scoring.corrected else list(example.relations)
        )
        matches = [[i for i, g in enumerate(gold) if scoring.matches(p, g)] for p in predicted]
        counts, owner = count(matches, len(gold))
        for key, value in counts.items():
            totals[key] += value
        for index, relation in enumerate(gold):
            found = by_type.setdefault(relation.label, {})
            outcome = "tp" if index in owner else "fn"
            found[outcome] = found.get(outcome, 0) + 1
        for relation, found_gold in zip(predicted, matches, strict=True):
            if not found_gold:
                found = by_type.setdefault(relation.label, {})
                found["fp"] = found.get("fp", 0) + 1
        failed = states_nothing(predicted, generated, scoring.empty_target)
        failures += failed
        record = make_record(example, generated, _rows(example.relations), _rows(predicted), failed)
        record.update(counts)
        records.append(record)
    metrics = {key: float(value) for key, value in totals.items()}
    metrics.update(precision_recall_f1(totals["tp"], totals["fp"], totals["fn"]))
    if scoring.types:
        metrics.update(_per_type(by_type, scoring.types))
    return Scores(task, split, metrics, failures, records, {})


def score_study(
    config: StudyTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """The study task's generations scored under ``config.scoring`` (see the module docstring)."""
    template = study_template(config)
    scoring = RelationScoring(
        extract=template.extract,
        matches=_matcher(config),
        key=template.key,
        empty_target=template.empty_target,
        corrected=config.scoring == "corrected",
    )
    return score_relations(config.name, split, examples, generations, scoring)
