"""The domain-specificity study's tasks (Brokman & Kavuluru 2023, bionlproc/DS-PT-IFT): one loader.

Each dataset's reader turns its release files into documents with gold relations; the study's template
of the dataset renders them as (source, target) examples. Every document is kept, including those
without relations, as the study keeps them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from biogpt.data.tasks.cdr import read_cdr
from biogpt.data.tasks.chemprot import read_chemprot
from biogpt.data.tasks.dce import read_dce
from biogpt.data.tasks.ddi2013 import read_ddi2013
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.study_documents import StudyRead
from biogpt.data.tasks.study_templates import study_template
from biogpt.data.tasks.types import Example, TaskSplit

logger = logging.getLogger(__name__)

_READERS: dict[str, Callable[[StudyTaskSettings, str], StudyRead]] = {
    "cdr": read_cdr,
    "chemprot": read_chemprot,
    "dce": read_dce,
    "ddi2013": read_ddi2013,
}


def load_study_split(config: StudyTaskSettings, split: str) -> TaskSplit:
    """The examples of ``split`` of the study task ``config`` names, in corpus order."""
    read = _READERS[config.name](config, split)
    template = study_template(config)
    examples = [
        Example(
            document.id,
            template.source(document.text),
            template.target(document.relations),
            relations=document.relations,
        )
        for document in read.documents
    ]
    for skipped in read.skipped:
        logger.warning(
            "%s %s: skipped malformed record %s: %s", config.name, split, skipped.record_id, skipped.reason
        )
    logger.info(
        "%s %s: %d examples, %d malformed records skipped",
        config.name,
        split,
        len(examples),
        len(read.skipped),
    )
    return TaskSplit(examples, skipped=read.skipped)
