"""String-level readers of the downstream tasks: raw release files to ordered (source, target) examples.

``load_task_split(make_task_settings("ddi", data_dir=...), "train")`` gives the examples of one split
exactly as the BioGPT release's rebuild_data.py scripts write them (or, for the domain-specificity
study's cdr, chemprot, dce and ddi2013, as that study's templates do), with the structured gold labels
and a report of every raw record that did not become an example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biogpt.data.tasks.hoc import load_hoc_split
from biogpt.data.tasks.pubmedqa import load_pubmedqa_split
from biogpt.data.tasks.relation import load_relation_split
from biogpt.data.tasks.settings import (
    DEFAULT_EMPTY_TARGET,
    ORDERS,
    STUDY_TASKS,
    TASK_NAMES,
    CustomTaskSettings,
    HoCSettings,
    PubMedQASettings,
    RelationTaskSettings,
    StudyTaskSettings,
    TaskSettings,
    make_task_settings,
    task_settings_class,
)
from biogpt.data.tasks.study import load_study_split
from biogpt.data.tasks.study_templates import StudyTemplate, study_template, template_words
from biogpt.data.tasks.types import Example, SkippedRecord, StudyRelation, TaskSplit


def _load_custom_split(config: CustomTaskSettings, split: str) -> TaskSplit:
    """``task=custom``'s loader, imported when called: its readers import this package's modules (the
    CDR PubTator reader, the study's templates), so a module-level import would be circular."""
    from biogpt.data.custom.examples import load_custom_split

    return load_custom_split(config, split)


_LOADERS: dict[type, Callable[[Any, str], TaskSplit]] = {
    RelationTaskSettings: load_relation_split,
    PubMedQASettings: load_pubmedqa_split,
    HoCSettings: load_hoc_split,
    StudyTaskSettings: load_study_split,
    CustomTaskSettings: _load_custom_split,
}


def load_task_split(config: TaskSettings, split: str) -> TaskSplit:
    """The examples of ``split`` (one of ``config.splits``) of the task ``config`` describes."""
    if split not in config.splits:
        raise ValueError(
            f"unknown split {split!r} for task {config.name!r}; valid splits: {', '.join(config.splits)}"
        )
    return _LOADERS[type(config)](config, split)


__all__ = [
    "DEFAULT_EMPTY_TARGET",
    "ORDERS",
    "TASK_NAMES",
    "CustomTaskSettings",
    "Example",
    "HoCSettings",
    "PubMedQASettings",
    "RelationTaskSettings",
    "STUDY_TASKS",
    "SkippedRecord",
    "StudyRelation",
    "StudyTaskSettings",
    "StudyTemplate",
    "TaskSettings",
    "TaskSplit",
    "load_study_split",
    "load_task_split",
    "make_task_settings",
    "study_template",
    "task_settings_class",
    "template_words",
]
