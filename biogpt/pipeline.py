"""What ``train.py`` runs: a Hydra config in, a fine-tuned and checkpoint-averaged BioGPT out.

Each piece is built from its config group (task, target_format, prompt, model, trainer, logger,
callbacks) by the small functions below, so scripts and tests can assemble the same objects.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelSummary, ProgressBar
from omegaconf import DictConfig, OmegaConf

from biogpt.averaging import average_checkpoints
from biogpt.checkpoint import build_model
from biogpt.data.datamodule import TaskDataModule
from biogpt.data.sequences import SequenceLayout
from biogpt.data.tasks import TaskConfig, load_task_split, make_task_config
from biogpt.data.tasks.config import RELATION_TASKS
from biogpt.finetune import PromptFineTuner
from biogpt.inference import PROMPT_FILE
from biogpt.loggers import closing_loggers, live_loggers, log_evaluation, log_run_config
from biogpt.model import BioGPT, BioGPTConfig
from biogpt.optim import OptimConfig
from biogpt.prompts import PromptConfig, fit_embeddings, prompt_ids
from biogpt.tokenizer import BioGPTTokenizer

logger = logging.getLogger(__name__)

ELLIPSIS = "..."


def task_config(cfg: DictConfig) -> TaskConfig:
    """The reader settings of ``cfg.task`` (+ ``cfg.target_format`` for relation tasks)."""
    task = cfg.task
    fields: dict[str, Any] = {"data_dir": str(cfg.data_dir)}
    if task.name in RELATION_TASKS:
        fields |= {
            "target_format": cfg.target_format.name,
            "order": task.order,
            "keep_empty": task.keep_empty,
            "empty_target": task.empty_target,
        }
    elif task.name == "pubmedqa":
        fields |= {"fold": task.fold, "long_answer": task.long_answer}
    return make_task_config(task.name, **fields)


def default_vocabulary(cfg: DictConfig) -> Path:
    """The released vocabulary of the configured shape, under ``data_dir/vocab``."""
    return (
        Path(str(cfg.data_dir))
        / "vocab"
        / ("biogpt-large" if cfg.model.preset == "biogpt-large" else "biogpt")
    )


def load_tokenizer(cfg: DictConfig) -> BioGPTTokenizer:
    source = cfg.tokenizer or cfg.model.init
    if source is None or Path(str(source)).is_file():  # a bare fairseq checkpoint holds no vocabulary
        source = default_vocabulary(cfg)
    return BioGPTTokenizer.from_pretrained(source)


def optim_config(cfg: DictConfig) -> OptimConfig:
    return OptimConfig(**{**OmegaConf.to_container(cfg.optim, resolve=True), "betas": tuple(cfg.optim.betas)})


def prompt_config(cfg: DictConfig) -> PromptConfig:
    return PromptConfig(**OmegaConf.to_container(cfg.prompt, resolve=True))


def build_layout(
    cfg: DictConfig, tokenizer: BioGPTTokenizer, prompt: PromptConfig, model_positions: int | None = None
) -> SequenceLayout:
    """How examples become sequences: the prompt's ids (added to the tokenizer if soft), truncation."""
    return SequenceLayout(
        eos_id=tokenizer.eos_id,
        # The released vocabulary spells "..." as one piece; a vocabulary learned on another corpus may
        # need several, which mark a cut just the same.
        ellipsis_ids=tuple(tokenizer.encode(ELLIPSIS)),
        prompt_ids=prompt_ids(prompt, tokenizer),
        max_source_positions=cfg.task.max_source_positions,
        max_positions=min(cfg.task.max_positions, model_positions or cfg.task.max_positions),
        loss_on=cfg.data.loss_on,
    )


def load_backbone(cfg: DictConfig, vocab_size: int | None = None) -> BioGPT:
    """Pretrained weights from ``model.init``, or a fresh ``model.preset`` network.

    A fresh network gets ``vocab_size`` embedding rows (the tokenizer's vocabulary, which may be one
    learned for a new corpus) instead of the preset's released 42,384.
    """
    regularisation = {"dropout": cfg.model.dropout, "attention_dropout": cfg.model.attention_dropout}
    if cfg.model.init is None:
        L.seed_everything(cfg.seed, workers=True)
        if vocab_size is not None:
            regularisation["vocab_size"] = vocab_size
        return BioGPT(BioGPTConfig.from_preset(cfg.model.preset, **regularisation))
    loaded = BioGPT.from_pretrained(cfg.model.init)
    # Rebuild with the configured dropout; the weights are the loaded ones.
    return build_model(replace(loaded.config, **regularisation), loaded.state_dict(), str(cfg.model.init))


def build(cfg: DictConfig) -> tuple[PromptFineTuner, TaskDataModule, BioGPTTokenizer, PromptConfig]:
    tokenizer = load_tokenizer(cfg)
    base_vocab_size = tokenizer.vocab_size - len(tokenizer.added_tokens)
    prompt = prompt_config(cfg)
    model = load_backbone(cfg, base_vocab_size)
    layout = build_layout(cfg, tokenizer, prompt, model.config.max_positions)
    fit_embeddings(model, tokenizer.vocab_size, prompt.init, seed=cfg.seed)
    datamodule = TaskDataModule(
        task_config(cfg),
        tokenizer,
        layout,
        cache_dir=cfg.data.cache_dir,
        splits=dict(cfg.data.splits),
        max_tokens=cfg.data.max_tokens,
        batch_size=cfg.data.batch_size,
        seed=cfg.seed,
        num_workers=cfg.data.num_workers,
        train_shots=cfg.data.train_shots,
    )
    module = PromptFineTuner(
        model, optim_config(cfg), base_vocab_size=base_vocab_size, train_only_prompt=cfg.train_only_prompt
    )
    return module, datamodule, tokenizer, prompt


# Trainer flags that, when false, forbid callbacks of a kind.
_SWITCHABLE_CALLBACKS = {"enable_progress_bar": ProgressBar, "enable_model_summary": ModelSummary}


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer of ``cfg.trainer`` with the ``logger`` and ``callbacks`` groups' objects.

    A progress-bar (model-summary) callback is left out when ``trainer.enable_progress_bar``
    (``enable_model_summary``) is false, which Lightning would refuse, so turning either off is one
    override whatever the callbacks group holds.
    """
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    switched_off = tuple(
        kind for flag, kind in _SWITCHABLE_CALLBACKS.items() if not cfg.trainer.get(flag, True)
    )
    callbacks = [c for c in callbacks if not isinstance(c, switched_off)]
    return hydra.utils.instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)


def print_lightning_logs_once() -> None:
    """Leave Lightning's messages to the root logger's handlers when it has some (under Hydra).

    Importing ``lightning`` always attaches a console handler ("INFO: ...") to the ``lightning``
    logger, and its subpackages propagate to the root once Hydra has configured it: every Lightning
    message would print twice, and only one copy would reach the run's log file.
    """
    if logging.getLogger().handlers:
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fine-tune, save the evaluation model as ``<run dir>/final``, then evaluate it on ``eval.split``.

    The evaluation model is the average of the kept epoch checkpoints where the paper evaluates one
    (``task.average_checkpoints``), else the last weights. Its scores go to ``<run dir>/metrics.json``
    and to the loggers. ``job: pretrain`` (set by the pre-training experiments) runs causal-LM
    pre-training instead.
    """
    print_lightning_logs_once()
    if cfg.get("job", "finetune") == "pretrain":
        from biogpt.pretraining import pretrain

        return pretrain(cfg)
    run_dir = Path(cfg.run_dir)
    L.seed_everything(cfg.seed, workers=True)
    module, datamodule, tokenizer, prompt = build(cfg)
    trainer = build_trainer(cfg)
    log_run_config(trainer.loggers, cfg)
    with closing_loggers(trainer):
        trainer.fit(module, datamodule=datamodule)
        final_dir = run_dir / "final"
        # The examples a few-shot run trained on, to reproduce or evaluate on exactly them.
        trained_ids = datamodule.split("train").ids if cfg.data.train_shots is not None else None
        summary: dict[str, Any] = {
            "run_dir": str(run_dir),
            "final_model": str(final_dir),
            "updates": trainer.global_step,
            "train_ids": trained_ids,
            "metrics": {key: float(value) for key, value in trainer.callback_metrics.items()},
        }
        if trainer.is_global_zero:  # one writer under DDP
            save_final(trainer, module, tokenizer, prompt, final_dir, average=cfg.task.average_checkpoints)
            if cfg.eval.split is not None:
                summary["evaluation"] = evaluate_final(cfg, trainer, final_dir, trained_ids)
            (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_final(
    cfg: DictConfig, trainer: L.Trainer, final_dir: Path, trained_ids: list[str] | None
) -> dict[str, Any]:
    """The run's closing evaluation: scores and predictions into the run directory and the loggers.

    Returns what the run's summary records of it, with the files that hold the details.
    """
    from biogpt.evaluate import evaluate_model

    run_dir = Path(cfg.run_dir)
    scores = evaluate_model(cfg, final_dir, run_dir, trained_ids)
    sources = {e.id: e.source for e in load_task_split(task_config(cfg), cfg.eval.split).examples}
    log_evaluation(
        live_loggers(trainer),
        scores.metrics,
        scores.records,
        prefix=cfg.eval.split,
        step=trainer.global_step,
        max_rows=cfg.eval.log_predictions,
        source_texts=sources,
    )
    return {
        "split": scores.split,
        "examples": len(scores.records),
        "parse_failures": scores.parse_failures,
        "metrics": scores.metrics,
        "metrics_file": str(run_dir / "metrics.json"),
        "predictions_file": str(run_dir / "predictions.jsonl"),
    }


def save_final(
    trainer: L.Trainer,
    module: PromptFineTuner,
    tokenizer: BioGPTTokenizer,
    prompt: PromptConfig,
    directory: Path,
    *,
    average: bool,
) -> Path:
    """Save the evaluation model with its tokenizer and prompt: the average of the kept epoch
    checkpoints (the paper's ``checkpoint_avg.pt``) when ``average``, else the last weights."""
    checkpointer = trainer.checkpoint_callback
    kept = sorted(Path(path) for path in (checkpointer.best_k_models if checkpointer else {}))
    model = module.model
    if average and kept:
        model = build_model(model.config, average_checkpoints(kept), f"average of {len(kept)} checkpoints")
        logger.info("averaged %d epoch checkpoints: %s", len(kept), ", ".join(p.name for p in kept))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    (directory / PROMPT_FILE).write_text(json.dumps(prompt.__dict__, indent=2) + "\n")
    return directory
