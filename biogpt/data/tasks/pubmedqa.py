"""PubMedQA PQA-L: the official 500 test / 10-fold cross-validation split and the release's strings.

The split follows ``preprocess/split_dataset.py`` of pubmedqa/pubmedqa: one ``random`` generator
seeded with 0; per label (yes, no, maybe, in that order) the PMIDs are shuffled and cut into equal
chunks (the last one shorter), chunk i of every label forms part i; when the last part comes out
shorter, one random PMID of every other part moves to it. The 1,000 questions are cut into 2 parts
(cross-validation, test), then the cross-validation part into 10 folds; fold k is the dev set and
the other nine, in fold order, the training set. Strings follow the release's
``examples/QA-PubMedQA/ReasoningRequired/rebuild_data.py`` (microsoft/BioGPT).
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biogpt.data.tasks.io import raw_file, read_json_object, require_str
from biogpt.data.tasks.settings import PUBMEDQA_FOLDS, PubMedQASettings
from biogpt.data.tasks.types import Example, SkippedRecord, TaskSplit

logger = logging.getLogger(__name__)

LABELS: tuple[str, ...] = ("yes", "no", "maybe")
ANSWER_LEAD = "the answer to the question given the context is"
_SPLIT_SEED = 0


@dataclass(frozen=True)
class _Question:
    """The validated fields of one PQA-L record."""

    question: str
    contexts: tuple[str, ...]
    long_answer: str
    label: str


def _parse_record(record: Any) -> _Question:
    if not isinstance(record, dict):
        raise ValueError(f"record is {type(record).__name__}, expected object")
    contexts = record.get("CONTEXTS")
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise ValueError("field 'CONTEXTS' is missing or not a list of strings")
    label = require_str(record, "final_decision")
    if label not in LABELS:
        raise ValueError(f"final_decision {label!r} is not one of {', '.join(LABELS)}")
    return _Question(
        require_str(record, "QUESTION"), tuple(contexts), require_str(record, "LONG_ANSWER"), label
    )


def _split_by_label(labels: dict[str, str], parts: int, rng: random.Random) -> list[list[str]]:
    """PMIDs cut into ``parts`` label-stratified parts, consuming ``rng`` exactly as the official script."""
    chunked = []
    for label in LABELS:
        pmids = [pmid for pmid, value in labels.items() if value == label]
        rng.shuffle(pmids)
        size = math.ceil(len(pmids) / parts)
        chunked.append(
            [pmids[i * size : (i + 1) * size] if i < parts - 1 else pmids[i * size :] for i in range(parts)]
        )
    output = [[pmid for chunks in chunked for pmid in chunks[i]] for i in range(parts)]
    if len(output[-1]) != len(output[0]):
        for part in output[:-1]:
            picked = rng.choice(part)
            part.remove(picked)
            output[-1].append(picked)
    return output


def official_split(labels: dict[str, str], fold: int) -> dict[str, list[str]]:
    """PMIDs of train, valid and test for cross-validation ``fold``; ``labels``: PMID -> label, file order."""
    rng = random.Random(_SPLIT_SEED)
    cross_validation, test = _split_by_label(labels, 2, rng)
    folds = _split_by_label({pmid: labels[pmid] for pmid in cross_validation}, PUBMEDQA_FOLDS, rng)
    train = [pmid for index, part in enumerate(folds) if index != fold for pmid in part]
    return {"train": train, "valid": folds[fold], "test": test}


def question_source(question: str, contexts: Sequence[str]) -> str:
    """ "question: ... context: ... " with contexts space-joined and whitespace runs collapsed (also the
    source of a custom QA corpus's examples, ``task=custom task.kind=qa``)."""
    context = re.sub(r"\s+", " ", " ".join(c.strip() for c in contexts).replace("\n", " "))
    return f"question: {question.strip()} context: {context.strip()} "


def _source(question: _Question, with_long_answer: bool) -> str:
    """The question's source, with its long answer appended in the reasoning-free setting."""
    source = question_source(question.question, question.contexts)
    if with_long_answer and question.long_answer:
        return f"{source}answer: {question.long_answer.strip()}"
    return source


def load_pubmedqa_split(config: PubMedQASettings, split: str) -> TaskSplit:
    """The examples of one split of ``<data_dir>/PubMedQA/raw/ori_pqal.json``, in official split order.

    Malformed records cannot be assigned by the official procedure; they are left out of it and
    reported in every split (the split of the rest then differs from the official one).
    """
    path = raw_file(config.data_dir, "PubMedQA", "ori_pqal.json")
    questions: dict[str, _Question] = {}
    skipped = []
    for pmid, record in read_json_object(path).items():
        try:
            questions[pmid] = _parse_record(record)
        except ValueError as error:
            skipped.append(SkippedRecord(pmid, str(error)))
            logger.warning("%s: skipped malformed record %s: %s", path, pmid, error)
    pmids = official_split({pmid: q.label for pmid, q in questions.items()}, config.fold)[split]
    examples = [
        Example(
            pmid,
            _source(questions[pmid], config.long_answer),
            f"{ANSWER_LEAD} {questions[pmid].label}.",
            answer=questions[pmid].label,
        )
        for pmid in pmids
    ]
    logger.info(
        "%s: %s fold %d: %d examples, %d malformed records",
        path,
        split,
        config.fold,
        len(examples),
        len(skipped),
    )
    return TaskSplit(examples=examples, skipped=skipped)
