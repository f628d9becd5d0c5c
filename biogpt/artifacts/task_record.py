"""The task a fine-tuned model was trained on, recorded in its model directory (``task.json``).

Fine-tuning writes it next to ``prompt.json`` in ``final/``, so that a command applying the model to
new texts (``biogpt-extract``, ``biogpt-serve``) builds sources, lays out sequences and parses
generations exactly as training and evaluation did, with no task options repeated. It holds the
task's typed reader settings, the sequence layout, and the relation types the model was trained to
state: the closed label set that svo's verbs and a custom corpus's type words map back to, which the
task's data (perhaps not on the machine that extracts) would otherwise have to give.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from biogpt.data.tasks import (
    CustomTaskSettings,
    RelationTaskSettings,
    TaskSettings,
    load_task_split,
    task_settings_class,
)
from biogpt.errors import DataFileError
from biogpt.prompts import LayoutSettings

TASK_FILE = "task.json"


@dataclass(frozen=True)
class TaskRecord:
    """What ``task.json`` holds: the task, its sequence layout and its relation types (sorted)."""

    task: TaskSettings
    layout: LayoutSettings
    relation_types: tuple[str, ...] = ()


def trained_relation_types(task: TaskSettings, train_split: str) -> tuple[str, ...]:
    """The relation types of ``task``'s training examples (with a custom task's configured types):
    what the model learned to state. Classification, QA and the study's templates need none."""
    if isinstance(task, RelationTaskSettings):
        examples = load_task_split(task, train_split).examples
        return tuple(sorted({t.relation for e in examples for t in e.triplets}))
    if isinstance(task, CustomTaskSettings) and task.kind == "relation":
        examples = load_task_split(task, train_split).examples
        labels = {r.label for e in examples for r in e.relations}
        return tuple(sorted(labels | set(task.relation_types or ())))
    return ()


def write_task_record(directory: Path, record: TaskRecord) -> Path:
    """Write ``<directory>/task.json``; returns its path."""
    path = directory / TASK_FILE
    content = {
        "task": asdict(record.task),
        "layout": asdict(record.layout),
        "relation_types": list(record.relation_types),
    }
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _typed(cls: type, values: dict[str, Any]) -> Any:
    """``cls`` from JSON values, lists back to the tuples the dataclasses hold."""
    known = {field.name for field in fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})


def read_task_record(directory: Path) -> TaskRecord | None:
    """The task recorded in model directory ``directory``; None where it records none (a plain
    language model, a HF directory, a fairseq checkpoint, a model fine-tuned before the record)."""
    path = directory / TASK_FILE
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        task_values = content["task"]
        task = _typed(task_settings_class(task_values["name"]), task_values)
        layout = _typed(LayoutSettings, content["layout"])
        return TaskRecord(task, layout, tuple(content.get("relation_types", ())))
    except (ValueError, KeyError, TypeError) as error:
        raise DataFileError(f"{path}: not a task record written by fine-tuning ({error})") from None
