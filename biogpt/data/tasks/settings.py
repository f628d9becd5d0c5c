"""Per-task settings as plain dataclasses, so Hydra structured configs can map onto them field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.formats import FORMATS, get_format

RELATION_TASKS: tuple[str, ...] = tuple(sorted(FORMATS))
# The domain-specificity study's datasets (Brokman & Kavuluru 2023, bionlproc/DS-PT-IFT), read from the
# corpora themselves: CDR from BC5CDR's PubTator files, DDI from the DDI-2013 XML.
STUDY_TASKS: tuple[str, ...] = ("cdr", "chemprot", "dce", "ddi2013")
# ``custom``: a user's corpus in an exchange format (biogpt.data.custom), configured, not coded.
TASK_NAMES: tuple[str, ...] = tuple(sorted((*RELATION_TASKS, *STUDY_TASKS, "pubmedqa", "hoc", "custom")))
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
class RelationTaskSettings:
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
class PubMedQASettings:
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
class HoCSettings:
    """Hallmarks of Cancer sentence classification; nothing to choose beyond the data and split names."""

    data_dir: str
    name: str = "hoc"
    splits: tuple[str, ...] = DEFAULT_SPLITS

    def __post_init__(self) -> None:
        _check_choice("task", self.name, ("hoc",))


STUDY_TEMPLATES: tuple[str, ...] = ("study",)
STUDY_SCORINGS: tuple[str, ...] = ("study", "corrected")
CDR_MENTIONS: tuple[str, ...] = ("study", "longest")
DCE_CLASSES: tuple[str, ...] = ("study", "official")


@dataclass(frozen=True, kw_only=True)
class StudyTaskSettings:
    """CDR, ChemProt, DCE or DDI-2013 under the domain-specificity study's protocol.

    ``target_format`` names the study's instruction templates (``study``, the only one so far).
    ``scoring``: ``study`` reproduces the study's code, flaws included (FN = |gold| - TP, which a gold
    relation matched twice undercounts); ``corrected`` matches each gold relation at most once.
    ``mention`` (CDR): which mention names an entity in the target, ``study`` = the study's ``max()``
    (the alphabetically last) or ``longest``. ``dce_classes``: ``study`` (POS vs. everything else, the
    study's wording) or ``official`` (the release's ``label2idx.json``). DCE and DDI-2013 have no
    validation split; ``valid_fraction`` of the training documents, drawn with ``split_seed``, play it
    (the study drew its split without a seed).
    """

    name: str
    data_dir: str
    splits: tuple[str, ...] = DEFAULT_SPLITS
    target_format: str = "study"
    scoring: str = "study"
    mention: str = "study"
    dce_classes: str = "study"
    valid_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        _check_choice("study task", self.name, STUDY_TASKS)
        if self.target_format not in STUDY_TEMPLATES:
            raise ValueError(
                f"unknown target format {self.target_format!r} for task {self.name!r}; "
                f"valid formats: {', '.join(STUDY_TEMPLATES)}"
            )
        _check_choice("scoring", self.scoring, STUDY_SCORINGS)
        _check_choice("mention", self.mention, CDR_MENTIONS)
        _check_choice("dce_classes", self.dce_classes, DCE_CLASSES)
        for split in self.splits:
            _check_choice(f"{self.name} split", split, DEFAULT_SPLITS)
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")


TaskSettings = RelationTaskSettings | PubMedQASettings | HoCSettings | StudyTaskSettings | CustomTaskSettings


def task_settings_class(name: str) -> type[TaskSettings]:
    """The settings class of task ``name`` (one of TASK_NAMES); unknown names list the valid ones."""
    _check_choice("task", name, TASK_NAMES)
    if name in RELATION_TASKS:
        return RelationTaskSettings
    if name in STUDY_TASKS:
        return StudyTaskSettings
    if name == "custom":
        return CustomTaskSettings
    return PubMedQASettings if name == "pubmedqa" else HoCSettings


def make_task_settings(name: str, **fields: Any) -> TaskSettings:
    """The settings of task ``name`` (one of TASK_NAMES) with ``fields`` set."""
    return task_settings_class(name)(name=name, **fields)
