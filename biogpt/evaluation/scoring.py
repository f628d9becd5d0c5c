"""One entry point from a split's generated texts to official scores and the files that record them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from biogpt.data.tasks import TaskSettings, load_task_split
from biogpt.errors import ConfigError
from biogpt.evaluation.base import Scores
from biogpt.evaluation.bc5cdr import score_bc5cdr
from biogpt.evaluation.classification import score_hoc, score_pubmedqa
from biogpt.evaluation.custom import score_custom
from biogpt.evaluation.hard_match import score_hard_match
from biogpt.evaluation.study import score_study

_SCORERS: dict[str, Callable[[Any, str, Sequence[Any], Sequence[str]], Scores]] = {
    "bc5cdr": score_bc5cdr,
    "kd-dti": score_hard_match,
    "ddi": score_hard_match,
    "pubmedqa": score_pubmedqa,
    "hoc": score_hoc,
    "cdr": score_study,
    "chemprot": score_study,
    "dce": score_study,
    "ddi2013": score_study,
    "custom": score_custom,
}


class GenerationCountError(ValueError):
    """Generated texts that are not one per scored example (the caller names the file they came from)."""


def check_ids(ids: Sequence[str], known: Sequence[str], split_name: str) -> None:
    """``eval.ids`` all among the ids ``known`` of the split, else a :class:`ConfigError` naming the
    first unknown ones and what the split's ids look like (a user copies them from another split or
    writes PMIDs where the corpus numbers its documents)."""
    known_ids = set(known)
    unknown = [example_id for example_id in ids if example_id not in known_ids]
    if unknown:
        raise ConfigError(
            f"eval.ids: {len(unknown)} of {len(ids)} ids are not among the {split_name} examples "
            f"({', '.join(map(repr, unknown[:5]))}); expected ids such as {', '.join(map(repr, known[:3]))}"
        )


def score_predictions(
    config: TaskSettings, generations: Sequence[str], *, split: str = "test", ids: Sequence[str] | None = None
) -> Scores:
    """Score one generated text per example of ``split`` (in the task's example order), or per example
    of ``ids`` (in that order) when only some examples are scored.

    Data come from ``config.data_dir``, read exactly as the examples were built, so generations are
    aligned to documents by position, as the release aligns output lines with its id files. A count
    mismatch is an error: any realignment would silently score predictions against other documents.
    """
    examples = load_task_split(config, split).examples
    if ids is not None:
        by_id = {example.id: example for example in examples}
        check_ids(ids, list(by_id), f"{config.name} {split}")
        examples = [by_id[example_id] for example_id in ids]
    if len(generations) != len(examples):
        raise GenerationCountError(
            f"{len(generations)} generations for {len(examples)} {config.name} {split} examples; "
            "expected one generation per example, in example order"
        )
    return _SCORERS[config.name](config, split, examples, list(generations))


def write_scores(scores: Scores, directory: str | Path) -> Path:
    """Write ``metrics.json``, ``predictions.jsonl`` and the release-format files into ``directory``.

    Returns the directory. Release files keep the release's ASCII-escaped JSON and line layout so
    its scripts read them unchanged; our own files keep non-ASCII text as is.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "task": scores.task,
        "split": scores.split,
        "examples": len(scores.records),
        "parse_failures": scores.parse_failures,
        "metrics": scores.metrics,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf8")
    with (out / "predictions.jsonl").open("w", encoding="utf8") as handle:
        for record in scores.records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for name, lines in scores.release_files.items():
        (out / name).write_text("".join(line + "\n" for line in lines), encoding="utf8")
    return out
