"""The page's example text: the first document of the served task's test split.

A colleague trying the model sees the kind of text it was trained on. The split is read with the
task's own reader from its data directory; where that data is not on this machine the page starts
empty and says why (the service itself does not need the data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from biogpt.data.tasks import TaskSettings, load_task_split
from biogpt.errors import DataFileError

logger = logging.getLogger(__name__)
EXAMPLE_SPLIT = "test"


@dataclass(frozen=True)
class ExampleText:
    """An example input (``text``), and where it comes from or why there is none (``source``)."""

    text: str
    source: str


def example_text(task: TaskSettings, data_dir: str | None) -> ExampleText:
    """The first document of ``task``'s test split (its last split where it has no ``test``), read
    under ``data_dir`` (None: the task's own)."""
    task = task if data_dir is None else replace(task, data_dir=data_dir)
    split = EXAMPLE_SPLIT if EXAMPLE_SPLIT in task.splits else task.splits[-1]
    try:
        examples = load_task_split(task, split).examples
    except (DataFileError, OSError, ValueError) as error:
        logger.warning("no example text for the page: %s", error)
        return ExampleText("", f"no example: the {task.name} {split} split cannot be read ({error})")
    if not examples:
        return ExampleText("", f"no example: the {task.name} {split} split is empty")
    first = examples[0]
    return ExampleText(first.source, f"{task.name} {split} split, document {first.id}")
