"""Hallmarks of Cancer: ``sentence<TAB>label[|label...]`` lines, rendered as the release's
``examples/DC-HoC/rebuild_data.py`` (microsoft/BioGPT) does: the sentence kept as is (not lowercased)
with a final "." added when missing, the label string kept as is ("a|b" for several labels).
"""

from __future__ import annotations

import logging

from biogpt.data.tasks.io import raw_file
from biogpt.data.tasks.settings import HoCSettings
from biogpt.data.tasks.types import Example, SkippedRecord, TaskSplit
from biogpt.errors import DataFileError
from biogpt.textfiles import numbered_lines

logger = logging.getLogger(__name__)

ANSWER_LEAD = "the type of this document is"
_EXPECTED = "'sentence<TAB>label[|label...]' lines"


def sentence_source(sentence: str) -> str:
    """HoC's source of a sentence: the sentence with a final "." added when missing."""
    return sentence if sentence.endswith(".") else sentence + "."


def load_hoc_split(config: HoCSettings, split: str) -> TaskSplit:
    """The examples of ``<data_dir>/HoC/raw/<split>.tsv``; ids count the file's non-blank lines from 0.

    Blank lines separate records (valid.tsv and test.tsv alternate them) and are not records, as in
    the release. A line without exactly one tab breaks the format (a cut-off file, another format) and
    raises naming it; a line with an empty sentence or label is skipped and reported (the release
    would emit an empty label).
    """
    path = raw_file(config.data_dir, "HoC", f"{split}.tsv")
    result = TaskSplit(examples=[])
    records = [(number, line) for number, line in numbered_lines(path, _EXPECTED) if line.strip()]
    for index, (number, line) in enumerate(records):
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != 2:
            raise DataFileError.at(path, number, f"{len(fields)} tab-separated field(s)", _EXPECTED)
        if not all(fields):
            reason = f"line {number}: empty {'sentence' if not fields[0] else 'label'}"
            result.skipped.append(SkippedRecord(str(index), reason))
            logger.warning("%s: skipped malformed record %d: %s", path, index, reason)
            continue
        sentence, label = fields
        source = sentence_source(sentence)
        labels = tuple(part.strip() for part in label.split("|"))
        result.examples.append(Example(str(index), source, f"{ANSWER_LEAD} {label}.", labels=labels))
    logger.info(
        "%s: %d examples, %d malformed records skipped", path, len(result.examples), len(result.skipped)
    )
    return result
