"""Hallmarks of Cancer: ``sentence<TAB>label[|label...]`` lines, rendered as the release's
``examples/DC-HoC/rebuild_data.py`` (microsoft/BioGPT) does: the sentence kept as is (not lowercased)
with a final "." added when missing, the label string kept as is ("a|b" for several labels).
"""

from __future__ import annotations

import logging

from biogpt.data.tasks.config import HoCConfig
from biogpt.data.tasks.io import raw_file
from biogpt.data.tasks.types import Example, SkippedRecord, TaskSplit

logger = logging.getLogger(__name__)

ANSWER_LEAD = "the type of this document is"


def load_hoc_split(config: HoCConfig, split: str) -> TaskSplit:
    """The examples of ``<data_dir>/HoC/raw/<split>.tsv``; ids count the file's non-blank lines from 0.

    Blank lines separate records (valid.tsv and test.tsv alternate them) and are not records, as in
    the release; lines without exactly one tab, or with an empty sentence or label, are skipped and
    reported (the release would crash or emit an empty label).
    """
    path = raw_file(config.data_dir, "HoC", f"{split}.tsv")
    result = TaskSplit(examples=[])
    with path.open(encoding="utf8") as handle:
        records = [(number, line) for number, line in enumerate(handle, start=1) if line.strip()]
    for index, (number, line) in enumerate(records):
        fields = [field.replace("\n", "").strip() for field in line.split("\t")]
        if len(fields) != 2 or not all(fields):
            reason = f"line {number}: expected 'sentence<TAB>label[|label...]', got {len(fields)} field(s)"
            if len(fields) == 2:
                reason = f"line {number}: empty {'sentence' if not fields[0] else 'label'}"
            result.skipped.append(SkippedRecord(str(index), reason))
            logger.warning("%s: skipped malformed record %d: %s", path, index, reason)
            continue
        sentence, label = fields
        source = sentence if sentence.endswith(".") else sentence + "."
        labels = tuple(part.strip() for part in label.split("|"))
        result.examples.append(Example(str(index), source, f"{ANSWER_LEAD} {label}.", labels=labels))
    logger.info(
        "%s: %d examples, %d malformed records skipped", path, len(result.examples), len(result.skipped)
    )
    return result
