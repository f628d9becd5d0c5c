"""The part of a training job that fine-tuning and pre-training share: fit with atomic step
checkpoints, resuming from ``resume``, then hand back what the job saves and records.

Around it each job builds its own module, data and callbacks before, and writes its own final model
and summary after; the loggers stay open until the job's block ends, so its closing evaluation is
logged to the same run, and are finished as "failed" if the job raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig

from biogpt.artifacts.summary import RunSummary
from biogpt.experiment.config.settings import plain
from biogpt.training.checkpoint_io import AtomicCheckpointIO, resume_path
from biogpt.training.loggers import closing_loggers, log_run_config
from biogpt.training.module import full_model_weights

CHECKPOINTS = "checkpoints"


@dataclass
class Fitted:
    """A finished fit: the run's summary so far and its last weights (on every rank; a job saves them
    from rank 0)."""

    summary: RunSummary
    last_weights: dict[str, torch.Tensor]


@contextmanager
def fitted(
    trainer: L.Trainer,
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    *,
    cfg: DictConfig,
    run_dir: Path,
    resume: str | bool | None,
) -> Iterator[Fitted]:
    """Fit ``module`` on ``datamodule`` from the checkpoint ``resume`` names under ``run_dir/checkpoints``
    (``auto``: the newest, if any), with checkpoints written atomically and ``cfg`` logged as the run's
    parameters; the block that uses the result runs with the loggers still open."""
    trainer.strategy.checkpoint_io = AtomicCheckpointIO()
    resumed_from = resume_path(resume, run_dir / CHECKPOINTS)
    log_run_config(trainer.loggers, plain(cfg))
    with closing_loggers(trainer):
        trainer.fit(module, datamodule=datamodule, ckpt_path=resumed_from)
        summary = RunSummary(
            run_dir=run_dir,
            updates=trainer.global_step,
            metrics={key: float(value) for key, value in trainer.callback_metrics.items()},
            resumed_from=resumed_from,
        )
        yield Fitted(summary, full_model_weights(trainer))  # every rank: a collective under FSDP
