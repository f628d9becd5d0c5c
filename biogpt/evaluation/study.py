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
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from biogpt.data.tasks import Example, StudyRelation, StudyTaskConfig, StudyTemplate, study_template
from biogpt.evaluation.base import Scores, make_record, precision_recall_f1


def _matcher(config: StudyTaskConfig) -> Callable[[StudyRelation, StudyRelation], bool]:
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


def _study_counts(matches: list[list[int]], gold_count: int) -> dict[str, int]:
    """The study's per-document counts from each prediction's matching gold indices."""
    tp = sum(bool(found) for found in matches)
    return {"tp": tp, "fp": len(matches) - tp, "fn": gold_count - tp, "redundant": 0}


def _corrected_counts(matches: list[list[int]], gold_count: int) -> dict[str, int]:
    """One-to-one counts: a maximum matching of predictions to gold relations (augmenting paths)."""
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
    return {"tp": tp, "fp": fp, "fn": gold_count - tp, "redundant": len(matches) - tp - fp}


def _gold(example: Example, template: StudyTemplate, corrected: bool) -> list[StudyRelation]:
    if not corrected:
        return list(example.relations)
    distinct: dict[Hashable, StudyRelation] = {}
    for relation in example.relations:
        distinct.setdefault(template.key(relation), relation)
    return list(distinct.values())


def _rows(relations: Sequence[StudyRelation]) -> list[dict[str, Any]]:
    return [{"arguments": [list(a) for a in r.arguments], "label": r.label} for r in relations]


def score_study(
    config: StudyTaskConfig, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """Micro precision, recall and F1 of the generations' relations, with the counts behind them.

    ``parse_failures`` counts generations that state no relation and are not the dataset's no-relation
    sentence; they are scored as predicting nothing.
    """
    template = study_template(config)
    matches_gold = _matcher(config)
    corrected = config.scoring == "corrected"
    count = _corrected_counts if corrected else _study_counts
    totals = {"tp": 0, "fp": 0, "fn": 0, "redundant": 0}
    records, failures = [], 0
    for example, generated in zip(examples, generations, strict=True):
        predicted = template.extract(generated)
        gold = _gold(example, template, corrected)
        matches = [[i for i, g in enumerate(gold) if matches_gold(p, g)] for p in predicted]
        counts = count(matches, len(gold))
        for key, value in counts.items():
            totals[key] += value
        failed = not predicted and generated.strip() != template.empty_target
        failures += failed
        record = make_record(example, generated, _rows(example.relations), _rows(predicted), failed)
        record.update(counts)
        records.append(record)
    metrics = {key: float(value) for key, value in totals.items()}
    metrics.update(precision_recall_f1(totals["tp"], totals["fp"], totals["fn"]))
    return Scores(config.name, split, metrics, failures, records, {})
