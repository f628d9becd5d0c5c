"""The typed schema of the config tree: Hydra structured configs registered in the ``ConfigStore``.

Each root config (``train.yaml``, ``pretrain.yaml``, ...) names its schema first in its defaults list
and each task file names its task kind's (``/schema/task/relation@_here_``), so OmegaConf refuses a
value of the wrong type while Hydra composes (``optim.lr=abc``), with its own message naming the full
key. The schemas are derived from the settings dataclasses the library takes (:func:`schema_of`), so
a field is declared once: in its dataclass, with its type and default. Keys that only the experiment
layer reads (the task's recipe, the trainer block, the checkpoint block, ...) are declared here.

Value constraints (ranges, names, paths) are :mod:`biogpt.experiment.config.validation`'s.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING as NO_DEFAULT
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from biogpt.artifacts.backbone_source import BackboneSettings
from biogpt.data.settings import DataSettings
from biogpt.data.tasks import (
    CustomTaskSettings,
    HoCSettings,
    PubMedQASettings,
    RelationTaskSettings,
    StudyTaskSettings,
)
from biogpt.evaluation.protocol import EvalSettings
from biogpt.model.adapters import PeftSettings
from biogpt.prompts import LayoutSettings, PromptSettings
from biogpt.serving.settings import LOCALHOST, ServeSettings
from biogpt.training.optim import OptimSettings
from biogpt.training.settings import SelectSettings

_PRIMITIVES = (int, float, str, bool)
# Fields a job sets itself rather than reading from the block: the task's data root, splits and target
# format come from data_dir, data.splits and the target_format group; the layout's loss_on is data's.
_JOB_SET = frozenset({"data_dir", "splits", "target_format"})


def _schema_type(annotation: Any) -> Any:
    """The OmegaConf type of a settings field: primitives and Optional primitives as they are, tuples as
    lists, mappings as dicts, paths as strings, settings dataclasses as their schemas; unions OmegaConf
    cannot type (``tuple[str, ...] | str | None``) are ``Any``, left to the validation."""
    if annotation in _PRIMITIVES:
        return annotation
    if annotation is Path:
        return str
    if is_dataclass(annotation):
        return schema_of(annotation)
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        present = [argument for argument in arguments if argument is not type(None)]
        inner = _schema_type(present[0]) if len(present) == 1 else Any
        return Any if inner is Any else Optional[inner]  # noqa: UP045 (OmegaConf reads typing.Optional)
    if origin is tuple and arguments:
        items = {argument for argument in arguments if argument is not Ellipsis}
        return list[_schema_type(items.pop())] if len(items) == 1 else Any
    if origin in (dict, Mapping) and arguments:
        return dict[_schema_type(arguments[0]), _schema_type(arguments[1])]
    return Any


def _schema_default(value: Any) -> Any:
    """A settings default as a schema default (tuples as lists, paths as strings)."""
    if isinstance(value, tuple):
        return list(value)
    return str(value) if isinstance(value, Path) else value


_SCHEMAS: dict[tuple[type, frozenset[str], frozenset[str], frozenset[str], tuple[type, ...]], type] = {}


def schema_of(
    cls: type,
    *,
    exclude: Sequence[str] = (),
    nullable: Sequence[str] = (),
    untyped: Sequence[str] = (),
    bases: tuple[type, ...] = (),
    name: str | None = None,
) -> type:
    """A (mutable) dataclass with the fields of the settings dataclass ``cls`` but ``exclude``, in types
    OmegaConf checks, over ``bases`` (the schema-only keys of the block); ``nullable`` fields may also be
    null in the config (a null the experiment layer resolves, such as ``select.final``); ``untyped``
    fields are left to the validation (a mapping whose keys are the user's, such as ``task.verbalize``:
    a typed dict in Hydra's struct mode would refuse them)."""
    key = (cls, frozenset(exclude), frozenset(nullable), frozenset(untyped), bases)
    if key in _SCHEMAS:
        return _SCHEMAS[key]
    hints = typing.get_type_hints(cls)
    declared: list[tuple[str, Any, Any]] = []
    for settings_field in fields(cls):
        if settings_field.name in exclude:
            continue
        kind = Any if settings_field.name in untyped else _schema_type(hints[settings_field.name])
        if settings_field.name in nullable:
            kind = Optional[kind]  # noqa: UP045
        if settings_field.default is not NO_DEFAULT:
            default = _schema_default(settings_field.default)
        elif settings_field.default_factory is not NO_DEFAULT:
            default = _schema_default(settings_field.default_factory())
        else:
            default = MISSING
        if is_dataclass(default) or isinstance(default, (list, dict)):
            made = default
            default = field(default_factory=lambda made=made, kind=kind: _as_schema_value(made, kind))
        else:
            default = field(default=default)
        declared.append((settings_field.name, kind, default))
    schema = dataclasses.make_dataclass(name or f"{cls.__name__}Schema", declared, bases=bases)
    schema.__doc__ = cls.__doc__
    _SCHEMAS[key] = schema
    return schema


def _as_schema_value(value: Any, kind: Any) -> Any:
    """A settings dataclass default as an instance of its schema (a fresh list or dict as itself)."""
    if is_dataclass(value) and isinstance(kind, type):
        return kind(**{f.name: _schema_default(getattr(value, f.name)) for f in fields(value)})
    return type(value)(value)


# --- blocks with keys of their own (read by the experiment layer, not by a settings dataclass) ---------


@dataclass
class TaskRecipe:
    """The paper's training recipe of a task (``task.*``), read by the optimiser, trainer and selection
    blocks through interpolation."""

    name: str = MISSING
    lr: float = MISSING
    warmup_updates: int = MISSING
    max_epochs: int = -1
    max_updates: int = -1
    prompt_length: int = 0
    average_checkpoints: bool = False


# The task block: the recipe and the layout's lengths, then each kind's reader settings (the task files
# name theirs; a new kind of task is one entry here and one line in its file).
TaskSchema = schema_of(LayoutSettings, exclude=("loss_on",), bases=(TaskRecipe,), name="TaskSchema")
TASK_SCHEMAS: dict[str, type] = {
    "relation": schema_of(RelationTaskSettings, exclude=_JOB_SET, bases=(TaskSchema,)),
    "pubmedqa": schema_of(PubMedQASettings, exclude=_JOB_SET, bases=(TaskSchema,)),
    "hoc": schema_of(HoCSettings, exclude=_JOB_SET, bases=(TaskSchema,)),
    "study": schema_of(StudyTaskSettings, exclude=_JOB_SET, bases=(TaskSchema,)),
    # a user's corpus; its scoring's ``match`` is eval.match's
    "custom": schema_of(
        CustomTaskSettings, exclude=_JOB_SET | {"match"}, untyped=("verbalize",), bases=(TaskSchema,)
    ),
}


@dataclass
class TargetFormatSchema:
    name: str = "rel-is"


@dataclass
class StudyBackbone:
    """The domain-specificity study's settings for a backbone (``model.study``)."""

    fewshot_epochs: dict[int, int] = field(default_factory=dict)
    max_new_tokens: int = 1024


@dataclass
class BackboneExtras:
    study: Optional[StudyBackbone] = None  # noqa: UP045


ModelSchema = schema_of(BackboneSettings, bases=(BackboneExtras,), name="ModelSchema")
OptimSchema = schema_of(OptimSettings)
PromptSchema = schema_of(PromptSettings)
SelectSchema = schema_of(SelectSettings, nullable=("final",))


@dataclass
class EvalExtras:
    """``eval`` keys a task's settings read: how a custom corpus's scoring compares names and labels."""

    match: str = "exact"


EvalSchema = schema_of(EvalSettings, bases=(EvalExtras,), name="EvalSchema")
PeftSchema = schema_of(PeftSettings)


@dataclass
class Splits:
    """Which release split plays each role."""

    train: str = "train"
    valid: str = "valid"
    test: str = "test"


@dataclass
class DataExtras:
    splits: Splits = field(default_factory=Splits)
    update_freq: int = 1
    loss_on: str = "all"


DataSchema = schema_of(DataSettings, exclude=("splits",), bases=(DataExtras,), name="DataSchema")


@dataclass
class PretrainData:
    update_freq: int = 1


@dataclass
class CheckpointSettings:
    """Step checkpoints of a fine-tuning run and where it resumes from (``checkpoint.*``; the job reads
    the block as these typed settings)."""

    every_n_updates: Optional[int] = 200  # noqa: UP045
    resume: Optional[str] = "auto"  # noqa: UP045


@dataclass
class TrainerSchema:
    """The Lightning Trainer's keys this project's trainer files and docs set (the block is handed to
    ``lightning.Trainer``; a key it lacks can be added on purpose with ``+trainer.<key>=...``)."""

    _target_: str = "lightning.Trainer"
    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    strategy: Any = "auto"
    precision: Optional[str] = "32-true"  # noqa: UP045 (null: Lightning's default)
    max_epochs: Optional[int] = None  # noqa: UP045
    max_steps: int = -1
    accumulate_grad_batches: int = 1
    gradient_clip_val: Optional[float] = None  # noqa: UP045
    use_distributed_sampler: bool = False
    log_every_n_steps: int = 50
    num_sanity_val_steps: int = 0
    default_root_dir: Optional[str] = None  # noqa: UP045
    limit_val_batches: Any = 1.0
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    fast_dev_run: Any = False


@dataclass
class PretrainSettings:
    """The pre-training run (``pretrain.*``): its packed corpus, batches, validation and checkpoint
    cadence, where it resumes from (the job reads the block as these typed settings)."""

    corpus_dir: str = MISSING
    tokens_per_sample: int = 1024
    blocks_per_batch: int = 1
    valid_every_n_updates: int = 1000
    save_every_n_updates: int = 1000
    resume: Optional[str] = "auto"  # noqa: UP045
    num_workers: int = 1
    validate_final: bool = True


# --- the root configs ----------------------------------------------------------------------------------


@dataclass
class CommonRoot:
    """Keys of every training-side root config."""

    data_dir: str = "data"
    run_dir: Optional[str] = None  # noqa: UP045 (Hydra's output dir: None outside a run, as in --cfg)
    seed: int = 1
    tokenizer: Optional[str] = None  # noqa: UP045
    model: ModelSchema = field(default_factory=ModelSchema)  # type: ignore[valid-type]
    trainer: TrainerSchema = field(default_factory=TrainerSchema)
    optim: OptimSchema = field(default_factory=OptimSchema)  # type: ignore[valid-type]
    logger: dict[str, Any] = field(default_factory=dict)
    callbacks: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchSchema:
    """``search``: the objective of a hyperparameter search (``hparams_search=...``, read by the sweeper of
    :mod:`biogpt.experiment.search`): a metric the run logs and which way is better."""

    metric: str = "valid/loss"
    direction: str = "minimize"


@dataclass
class TrainRoot(CommonRoot):
    """``train.yaml``: fine-tuning."""

    task: TaskSchema = MISSING  # type: ignore[valid-type]
    target_format: TargetFormatSchema = field(default_factory=TargetFormatSchema)
    prompt: PromptSchema = field(default_factory=PromptSchema)  # type: ignore[valid-type]
    data: DataSchema = field(default_factory=DataSchema)  # type: ignore[valid-type]
    train_only_prompt: bool = False
    keep_last_epochs: int = 5
    select: SelectSchema = field(default_factory=SelectSchema)  # type: ignore[valid-type]
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    eval: EvalSchema = field(default_factory=EvalSchema)  # type: ignore[valid-type]
    peft: PeftSchema = field(default_factory=PeftSchema)  # type: ignore[valid-type]
    search: SearchSchema = field(default_factory=SearchSchema)


@dataclass
class EvaluateRoot(TrainRoot):
    """``evaluate.yaml``: the training config plus what to evaluate."""

    ckpt: Optional[str] = None  # noqa: UP045
    predictions: Optional[str] = None  # noqa: UP045


@dataclass
class ExportRoot(TrainRoot):
    """``export.yaml``: the training config plus the split and the file to write."""

    split: str = "test"
    out: str = MISSING


@dataclass
class PretrainRoot(CommonRoot):
    """``pretrain.yaml``: pre-training."""

    data: PretrainData = field(default_factory=PretrainData)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)


@dataclass
class GenerateRoot:
    """``generate.yaml``: ``biogpt-generate``'s keys (the fairseq-style names of the decoding settings)."""

    ckpt: str = MISSING
    tokenizer: Optional[str] = None  # noqa: UP045
    data_dir: str = "data"
    text: str = MISSING
    beam: int = 5
    min_len: int = 0
    max_len: int = 200
    lenpen: float = 1.0
    sampling: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    no_repeat_ngram_size: int = 0
    seed: int = 1
    dtype: str = "fp32"


ExtractEvalSchema = schema_of(
    EvalSettings,
    exclude=("split", "ids", "limit", "constrained", "log_predictions"),
    bases=(EvalExtras,),
    name="ExtractEvalSchema",
)


@dataclass
class ExtractRoot:
    """``extract.yaml``: ``biogpt-extract``'s keys. ``task``, ``target_format`` and ``prompt`` are the
    training config's groups, unset (null) unless given to override what the model records."""

    ckpt: str = MISSING
    input: str = MISSING
    out: str = MISSING
    input_format: str = "auto"
    id_field: str = "id"
    text_field: str = "text"
    format: str = "parquet"
    window: int = 1024
    shard_size: int = 4096
    support: int = 5
    progress: bool = True
    tokenizer: Optional[str] = None  # noqa: UP045
    data_dir: str = "data"
    seed: int = 1
    task: Any = None
    target_format: Any = None
    prompt: Any = None
    eval: ExtractEvalSchema = field(default_factory=ExtractEvalSchema)  # type: ignore[valid-type]
    trainer: TrainerSchema = field(default_factory=TrainerSchema)


# biogpt-serve's serve.* block: ServeSettings but where it listens (root keys) and the data root (data_dir).
ServeBlock = schema_of(ServeSettings, exclude=("host", "port", "data_dir"), name="ServeBlock")


@dataclass
class ServeRoot:
    """``serve.yaml``: ``biogpt-serve``'s keys. The model, its task overrides (``task``,
    ``target_format``, ``prompt``: the training config's groups, null unless given) and ``eval`` are
    ``biogpt-extract``'s."""

    ckpt: str = MISSING
    tokenizer: Optional[str] = None  # noqa: UP045
    data_dir: str = "data"
    seed: int = 1
    host: str = LOCALHOST
    port: int = 8000
    task: Any = None
    target_format: Any = None
    prompt: Any = None
    serve: ServeBlock = field(default_factory=ServeBlock)  # type: ignore[valid-type]
    eval: ExtractEvalSchema = field(default_factory=ExtractEvalSchema)  # type: ignore[valid-type]


ROOT_SCHEMAS: dict[str, type] = {
    "train": TrainRoot,
    "evaluate": EvaluateRoot,
    "export": ExportRoot,
    "pretrain": PretrainRoot,
    "generate": GenerateRoot,
    "extract": ExtractRoot,
    "serve": ServeRoot,
}


def register_schemas() -> None:
    """Store the schemas where the configs name them: ``schema/<root>`` and ``schema/task/<kind>``; and
    have Hydra share the store instead of copying it (:func:`_the_store_itself`)."""
    ConfigStore.__deepcopy__ = _the_store_itself
    store = ConfigStore.instance()
    for root, schema in ROOT_SCHEMAS.items():
        store.store(group="schema", name=root, node=schema, package="_global_")
    for kind, schema in TASK_SCHEMAS.items():
        store.store(group="schema/task", name=kind, node=schema)


def _the_store_itself(store: ConfigStore, memo: dict[int, Any]) -> ConfigStore:
    """A deep copy of Hydra's ``ConfigStore`` singleton: the store itself.

    Hydra 1.3 deep-copies its config repository for every composition and for every config group that
    ``--help`` lists (``CachingConfigRepository``), and the repository's structured-config source holds
    the store, so each copy duplicated every schema registered here: 15 ms of a 105 ms composition, and
    185 copies (4 of the 6 s) for ``train.py --help``. Hydra's main branch reads the live store instead
    (facebookresearch/hydra#2928, not in the 1.3.8 release); the store hands out copies of its nodes
    (``ConfigStore.load``), so sharing it changes nothing but the time."""
    return store
