"""What every task scorer shares: the result record, per-example records, and P/R/F1 from counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biogpt.data.tasks import Example


@dataclass(frozen=True)
class Scores:
    """The evaluation of one split's generations.

    ``metrics`` are the official figures (fractions, not percentages); ``parse_failures`` counts the
    generations the release's postprocess.py reports as failed (they are scored, as wrong, not
    dropped); ``records`` hold one JSON-ready dict per example, in example order; ``release_files``
    map a file name to its lines, written in the layout the release's evaluation scripts read.
    """

    task: str
    split: str
    metrics: dict[str, float]
    parse_failures: int
    records: list[dict[str, Any]]
    release_files: dict[str, list[str]]


def make_record(example: Example, generated: str, gold: Any, parsed: Any, failed: bool) -> dict[str, Any]:
    """The fields every task's ``predictions.jsonl`` line has; scorers add task-specific ones."""
    return {
        "id": example.id,
        "generated": generated,
        "target": example.target,
        "gold": gold,
        "parsed": parsed,
        "parse_failed": failed,
    }


def f1_score(precision: float, recall: float) -> float:
    """The harmonic mean, 0 when both are 0.

    Computed from P and R, not as 2TP/(2TP+FP+FN): the CDR kit's printed F-scores (its readme's
    0.7283653846153848 for TP 303, FP 105, FN 121) are reproduced bit for bit only this way.
    """
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def precision_recall_f1(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Micro precision, recall and F1 of counts; a ratio with a zero denominator is 0."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": precision, "recall": recall, "f1": f1_score(precision, recall)}
