"""Per-task settings as plain dataclasses, so Hydra structured configs can map onto them field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biogpt.data.formats import FORMATS, get_format

RELATION_TASKS: tuple[str, ...] = tuple(sorted(FORMATS))
TASK_NAMES: tuple[str, ...] = tuple(sorted((*RELATION_TASKS, "pubmedqa", "hoc")))
ORDERS: tuple[str, ...] = ("release", "appearance")
DEFAULT_SPLITS: tuple[str, ...] = ("train", "valid", "test")
# The release drops documents without relations and so never needed a target for them; this sentence
# is ours, used only with keep_empty=True.
DEFAULT_EMPTY_TARGET = "there are no relations."
PUBMEDQA_FOLDS = 10


def _check_choice(kind: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")


@dataclass(frozen=True, kw_only=True)
class RelationTaskConfig:
    """BC5CDR, KD-DTI or DDI: which target format, triplet order and treatment of relation-less documents.

    ``order="release"`` reproduces the release's order (KD-DTI and DDI: sorted by where the head's
    original-case name is found in the lowercased text, -1 first; BC5CDR: as listed, because its
    rebuild script never calls its sort); ``"appearance"`` sorts by the head's case-insensitive first
    mention, heads never mentioned last. ``keep_empty`` keeps documents without relations, with
    ``empty_target`` as their target, instead of dropping them as released.
    """

    name: str
    data_dir: str
    splits: tuple[str, ...] = DEFAULT_SPLITS
    target_format: str = "rel-is"
    order: str = "release"
    keep_empty: bool = False
    empty_target: str = DEFAULT_EMPTY_TARGET

    def __post_init__(self) -> None:
        _check_choice("relation task", self.name, RELATION_TASKS)
        get_format(self.name, self.target_format)
        _check_choice("order", self.order, ORDERS)


@dataclass(frozen=True, kw_only=True)
class PubMedQAConfig:
    """PubMedQA PQA-L with the official split: ``fold`` picks the cross-validation fold for train/valid.

    ``long_answer`` appends the expert long answer to the source ("answer: ..."), the release's
    reasoning-free setting; off, it is the reasoning-required setting BioGPT reports.
    """

    data_dir: str
    name: str = "pubmedqa"
    splits: tuple[str, ...] = DEFAULT_SPLITS
    fold: int = 0
    long_answer: bool = False

    def __post_init__(self) -> None:
        _check_choice("task", self.name, ("pubmedqa",))
        for split in self.splits:
            _check_choice("PubMedQA split", split, DEFAULT_SPLITS)
        if not 0 <= self.fold < PUBMEDQA_FOLDS:
            raise ValueError(f"PubMedQA fold must be in 0..{PUBMEDQA_FOLDS - 1}, got {self.fold}")


@dataclass(frozen=True, kw_only=True)
class HoCConfig:
    """Hallmarks of Cancer sentence classification; nothing to choose beyond the data and split names."""

    data_dir: str
    name: str = "hoc"
    splits: tuple[str, ...] = DEFAULT_SPLITS

    def __post_init__(self) -> None:
        _check_choice("task", self.name, ("hoc",))


TaskConfig = RelationTaskConfig | PubMedQAConfig | HoCConfig


def task_config_class(name: str) -> type[TaskConfig]:
    """The settings class of task ``name`` (one of TASK_NAMES); unknown names list the valid ones."""
    _check_choice("task", name, TASK_NAMES)
    if name in RELATION_TASKS:
        return RelationTaskConfig
    return PubMedQAConfig if name == "pubmedqa" else HoCConfig


def make_task_config(name: str, **fields: Any) -> TaskConfig:
    """The config of task ``name`` (one of TASK_NAMES) with ``fields`` set."""
    return task_config_class(name)(name=name, **fields)
