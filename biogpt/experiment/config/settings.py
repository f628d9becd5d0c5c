"""From a composed Hydra config to the typed settings the library takes.

Each config block maps onto a dataclass whose fields it shares by name (:func:`settings`), so a new
field is one line in the dataclass and one in the YAML, with no mapping code between them; keys of a
block that are not fields (the task's ``lr`` is the optimiser's) are left to their readers. The
library's settings are frozen dataclasses from which the config's typed schema is derived
(:mod:`biogpt.experiment.config.schema`); the blocks only jobs read (``checkpoint``, ``pretrain``) are
declared in the schema itself and read through the same function.

A job builds its :class:`RunSettings` once (:func:`run_settings`), after the config was validated, and
hands them down: nothing past the job's entry reads the config again.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from biogpt.artifacts.backbone_source import BackboneSettings
from biogpt.data.settings import DataSettings
from biogpt.data.tasks import CustomTaskSettings, TaskSettings, task_settings_class
from biogpt.evaluation.protocol import EvalSettings
from biogpt.experiment.config.schema import CheckpointSettings, PretrainSettings
from biogpt.extraction.engine import ExtractionSettings
from biogpt.generation import GenerationSettings
from biogpt.model.adapters import PeftSettings
from biogpt.prompts import LayoutSettings, PromptSettings
from biogpt.training.optim import OptimSettings
from biogpt.training.settings import SelectSettings, ValidationData, final_model

SettingsT = TypeVar("SettingsT")


def plain(node: Any) -> Any:
    """A config node as plain Python values (interpolations resolved)."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def settings(cls: type[SettingsT], *nodes: Any, **values: Any) -> SettingsT:
    """``cls`` built from the keys of ``nodes`` that are its fields (later nodes and ``values`` win)."""
    names = {field.name for field in fields(cls)}  # type: ignore[arg-type]
    chosen: dict[str, Any] = {}
    for node in nodes:
        chosen |= {key: value for key, value in plain(node).items() if key in names}
    return cls(**(chosen | values))


def task_settings(cfg: DictConfig) -> TaskSettings:
    """The reader settings of ``task`` (with ``target_format`` for relation tasks, where one is set) over
    ``data_dir`` (``task=custom``: with ``eval.match``, which its scoring reads)."""
    cls = task_settings_class(cfg.task.name)
    extra: dict[str, Any] = {"data_dir": str(cfg.data_dir)}
    if cfg.target_format is not None and "target_format" in {field.name for field in fields(cls)}:
        extra["target_format"] = cfg.target_format.name
    if cls is CustomTaskSettings:
        extra["match"] = cfg.eval.match
    return settings(cls, cfg.task, **extra)


def prompt_settings(cfg: DictConfig) -> PromptSettings:
    return settings(PromptSettings, cfg.prompt)


def optim_settings(cfg: DictConfig) -> OptimSettings:
    optim = plain(cfg.optim)
    return settings(OptimSettings, optim, betas=tuple(optim["betas"]))


def layout_settings(cfg: DictConfig) -> LayoutSettings:
    """Sequence lengths of the task, where the loss is taken (``data.loss_on``)."""
    return settings(LayoutSettings, cfg.task, loss_on=cfg.data.loss_on)


def backbone_settings(cfg: DictConfig) -> BackboneSettings:
    return settings(BackboneSettings, cfg.model)


def peft_settings(cfg: DictConfig) -> PeftSettings:
    """The ``peft`` group (``none`` where a config predates it)."""
    block = plain(cfg.get("peft")) or {}
    targets = block.get("target_modules")
    return settings(PeftSettings, block, target_modules=tuple(targets) if targets is not None else None)


def eval_settings(cfg: DictConfig) -> EvalSettings:
    block = plain(cfg.eval)
    ids = block["ids"]
    return settings(
        EvalSettings,
        block,
        ids=tuple(str(i) for i in ids) if isinstance(ids, list) else ids,
        generation=settings(GenerationSettings, block["generation"]),
    )


def select_settings(cfg: DictConfig) -> SelectSettings:
    """``select``, where ``final: null`` is the task's paper setting: the checkpoint average where
    ``task.average_checkpoints``, else the last weights."""
    block = plain(cfg.select)
    block["final"] = final_model(block["final"], cfg.task.average_checkpoints)
    return settings(SelectSettings, block)


def checkpoint_settings(cfg: DictConfig) -> CheckpointSettings:
    return settings(CheckpointSettings, cfg.checkpoint)


def vocab_root(cfg: DictConfig) -> Path:
    """Where the released vocabularies are (``<data_dir>/vocab/biogpt``, ``.../biogpt-large``)."""
    return Path(str(cfg.data_dir)) / "vocab"


def cache_dir(cfg: DictConfig) -> Path:
    return Path(str(cfg.data.cache_dir)).expanduser()


def data_settings(cfg: DictConfig) -> DataSettings:
    return settings(DataSettings, cfg.data, cache_dir=cache_dir(cfg))


@dataclass(frozen=True)
class RunSettings:
    """Everything a fine-tuning, evaluation or export job reads from its config, typed, built once.

    ``tokenizer``: the vocabulary the config names (None: the model's own, else the release's under
    ``vocab_root``); ``seed``: the run's; ``train_only_prompt``: freeze the backbone.
    """

    task: TaskSettings
    prompt: PromptSettings
    layout: LayoutSettings
    backbone: BackboneSettings
    peft: PeftSettings
    data: DataSettings
    evaluation: EvalSettings
    optim: OptimSettings
    select: SelectSettings
    checkpoint: CheckpointSettings
    vocab_root: Path
    tokenizer: str | None
    seed: int
    train_only_prompt: bool

    def split(self, role: str) -> str:
        """The release split playing ``role`` (train, valid, test: ``data.splits``)."""
        return self.data.splits[role]

    @property
    def cache_dir(self) -> Path:
        return Path(self.data.cache_dir)


def run_settings(cfg: DictConfig) -> RunSettings:
    """The typed settings of a composed (and validated) fine-tuning, evaluation or export config."""
    return RunSettings(
        task=task_settings(cfg),
        prompt=prompt_settings(cfg),
        layout=layout_settings(cfg),
        backbone=backbone_settings(cfg),
        peft=peft_settings(cfg),
        data=data_settings(cfg),
        evaluation=eval_settings(cfg),
        optim=optim_settings(cfg),
        select=select_settings(cfg),
        checkpoint=checkpoint_settings(cfg),
        vocab_root=vocab_root(cfg),
        tokenizer=None if cfg.tokenizer is None else str(cfg.tokenizer),
        seed=int(cfg.seed),
        train_only_prompt=bool(cfg.train_only_prompt),
    )


@dataclass(frozen=True)
class PretrainRunSettings:
    """Everything the pre-training job reads from its config, typed, built once: the corpus and its
    cadence (``pretrain``), the network (``backbone``, whose vocabulary is ``tokenizer`` or the release's
    under ``vocab_root``), the optimiser, the seed, and the micro-batches of one update
    (``trainer.accumulate_grad_batches``, in which Lightning counts validation intervals)."""

    corpus: PretrainSettings
    backbone: BackboneSettings
    optim: OptimSettings
    vocab_root: Path
    tokenizer: str | None
    seed: int
    accumulate_grad_batches: int


def pretrain_run_settings(cfg: DictConfig) -> PretrainRunSettings:
    """The typed settings of a composed (and validated) pre-training config."""
    return PretrainRunSettings(
        corpus=settings(PretrainSettings, cfg.pretrain),
        backbone=backbone_settings(cfg),
        optim=optim_settings(cfg),
        vocab_root=vocab_root(cfg),
        tokenizer=None if cfg.tokenizer is None else str(cfg.tokenizer),
        seed=int(cfg.seed),
        accumulate_grad_batches=int(cfg.trainer.accumulate_grad_batches),
    )


def validation_data(run: RunSettings) -> ValidationData:
    """The validation score of ``select.final=best``: ``data.splits.valid`` decoded and scored as the
    closing evaluation does (``eval``'s decoding, batch size and ``limit``; never its test ``ids``)."""
    evaluation = replace(run.evaluation, split=run.split("valid"), ids=None)
    return ValidationData(run.task, evaluation, run.layout, run.cache_dir, train_split=run.split("train"))


def extraction_settings(cfg: DictConfig) -> ExtractionSettings:
    """The engine's settings: the model, the overrides given, ``eval``'s decoding."""
    task = None if cfg.task is None else task_settings(cfg)  # None: the model's task record applies
    return ExtractionSettings(
        ckpt=str(cfg.ckpt),
        vocab_root=vocab_root(cfg),
        tokenizer=None if cfg.tokenizer is None else str(cfg.tokenizer),
        task=task,
        target_format=None if cfg.target_format is None or task is not None else str(cfg.target_format.name),
        layout=None if task is None else settings(LayoutSettings, cfg.task),
        prompt=prompt_settings(cfg) if cfg.prompt is not None else PromptSettings(kind="none"),
        generation=settings(GenerationSettings, cfg.eval.generation),
        dtype=str(cfg.eval.dtype),
        batch_size=int(cfg.eval.batch_size),
    )
