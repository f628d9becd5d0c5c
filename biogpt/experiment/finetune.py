"""The fine-tuning job (``train.py``): a composed config in, a fine-tuned model (checkpoint-averaged, last
or best-validated, ``select.final``) and its evaluation out.

Built from the config by :mod:`biogpt.experiment.build`; the run's ``final/`` directory is written
by :mod:`biogpt.artifacts.model_dir` and evaluated by :mod:`biogpt.evaluation.protocol`, exactly as
``evaluate.py ckpt=<run>/final`` would. Rerunning the same command in the same run directory resumes
from the newest step checkpoint (``checkpoint.resume=auto``) and ends with the weights of an
uninterrupted run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from omegaconf import DictConfig

from biogpt.artifacts.model_dir import save_model_dir
from biogpt.artifacts.task_record import TaskRecord, trained_relation_types, write_task_record
from biogpt.data.tasks import load_task_split
from biogpt.experiment.build import FineTuning, build_finetuning, build_trainer
from biogpt.experiment.config.settings import RunSettings, run_settings, validation_data
from biogpt.experiment.evaluate import evaluate_model
from biogpt.experiment.fitting import CHECKPOINTS, fitted
from biogpt.experiment.logging import print_lightning_logs_once
from biogpt.experiment.validate import check_task_data
from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import lightning_weights
from biogpt.training.averaging import average_checkpoints
from biogpt.training.checkpoint_io import step_checkpoints
from biogpt.training.loggers import live_loggers, log_evaluation
from biogpt.training.selection import BestEpochCheckpoint, best_model_callbacks

logger = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fine-tune, save the evaluation model as ``<run dir>/final``, then evaluate it on ``eval.split``.

    The evaluation model is ``select.final``'s: the average of the kept epoch checkpoints (where the paper
    evaluates one, ``task.average_checkpoints``), the last weights, or the checkpoint of the best
    validation score by generation (``best``). Its scores go to ``<run dir>/metrics.json``
    and to the loggers. Returns what ``train_summary.json`` holds.
    """
    print_lightning_logs_once()
    settings = run_settings(cfg)
    # Missing data is named in milliseconds here, not after the model has loaded.
    evaluated = settings.evaluation.split
    used = [settings.split("train"), settings.split("valid"), *([evaluated] if evaluated else [])]
    check_task_data(settings.task, used, split_key="eval.split")
    run_dir = Path(cfg.run_dir)
    L.seed_everything(settings.seed, workers=True)
    run = build_finetuning(settings)
    every = settings.checkpoint.every_n_updates
    steps = [] if every is None else step_checkpoints(run_dir / CHECKPOINTS, every, epoch_ends=True)
    # Before the step checkpoints: an epoch's step checkpoint records the best score of that epoch.
    scoring = selection_callbacks(run_dir, run, settings)
    trainer = build_trainer(cfg, callbacks=[*scoring, *steps], model=run.module.model)
    resume = settings.checkpoint.resume
    with fitted(trainer, run.module, run.datamodule, cfg=cfg, run_dir=run_dir, resume=resume) as fit:
        final_dir = run_dir / "final"
        # The examples a few-shot run trained on, to reproduce or evaluate on exactly them.
        trained_ids = run.datamodule.split("train").ids if settings.data.train_shots is not None else None
        fit.summary.extra["train_ids"] = trained_ids
        if trainer.is_global_zero:  # one writer under DDP
            checkpointers = [c for c in trainer.checkpoint_callbacks if c not in steps]
            save_final(run, settings.select.final, checkpointers, final_dir, fit.last_weights)
            record_task(settings, final_dir)
            if evaluated is not None:
                fit.summary.evaluation = evaluate_final(settings, trainer, run_dir, trained_ids)
            fit.summary.write(run_dir / "train_summary.json")
    return fit.summary.to_dict()


def selection_callbacks(run_dir: Path, run: FineTuning, settings: RunSettings) -> list[Callback]:
    """For ``select.final=best``, the validation score by generation and the checkpoint of its best epoch
    (``checkpoints/best-epochNNN.ckpt``); no callbacks otherwise."""
    if settings.select.final != "best":
        return []
    directory = run_dir / CHECKPOINTS
    return best_model_callbacks(
        directory, run.tokenizer, run.prompt, validation_data(settings), settings.select
    )


def save_final(
    run: FineTuning,
    final: str,
    checkpointers: list[ModelCheckpoint],
    directory: Path,
    last_weights: dict[str, torch.Tensor],
) -> Path:
    """Save the evaluation model with its tokenizer and prompt: for ``final=average`` the average of the
    kept epoch checkpoints (the paper's ``checkpoint_avg.pt``), for ``best`` the best-scored epoch's
    checkpoint, else (or when the run kept no such checkpoint) ``last_weights``."""
    weights = last_weights
    if final == "average":
        kept = sorted(
            Path(path)
            for checkpointer in checkpointers
            if not isinstance(checkpointer, BestEpochCheckpoint)
            for path in checkpointer.best_k_models
        )
        if kept:
            weights = average_checkpoints(kept)
            logger.info("averaged %d epoch checkpoints: %s", len(kept), ", ".join(p.name for p in kept))
        else:
            logger.warning(
                "select.final=average: the run kept no epoch checkpoint, "
                "so the last weights are the final model"
            )
    elif final == "best":
        best = [Path(c.best_model_path) for c in checkpointers if isinstance(c, BestEpochCheckpoint)]
        if best and best[0].name:
            weights = lightning_weights(safe_load(best[0]), str(best[0]))
            logger.info("the best validation score's checkpoint: %s", best[0].name)
        else:
            logger.warning("select.final=best: no epoch was scored, so the last weights are the final model")
    return save_model_dir(
        directory,
        run.module.model,
        run.tokenizer,
        run.prompt,
        weights=weights,
        merge=run.peft.merge,
        base_rows=run.base_rows,
    )


def record_task(settings: RunSettings, directory: Path) -> Path:
    """Record in ``directory`` (the run's ``final/``) the task the model was trained on, its sequence
    layout and the relation types of its training split: what ``biogpt-extract`` applies it with."""
    relation_types = trained_relation_types(settings.task, settings.split("train"))
    return write_task_record(directory, TaskRecord(settings.task, settings.layout, relation_types))


def evaluate_final(
    settings: RunSettings, trainer: L.Trainer, run_dir: Path, trained_ids: list[str] | None
) -> dict[str, Any]:
    """The run's closing evaluation of ``<run_dir>/final``: scores and predictions into the run
    directory and the loggers.

    Returns what the run's summary records of it, with the files that hold the details.
    """
    evaluation = settings.evaluation
    scores = evaluate_model(settings, run_dir / "final", run_dir, trained_ids)
    sources = {e.id: e.source for e in load_task_split(settings.task, str(evaluation.split)).examples}
    log_evaluation(
        live_loggers(trainer),
        scores.metrics,
        scores.records,
        prefix=evaluation.split,
        step=trainer.global_step,
        max_rows=evaluation.log_predictions,
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
