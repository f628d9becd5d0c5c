"""Choosing the model a fine-tuning run ends with: the paper's checkpoint average, the last weights, or the
epoch of the best validation score by generation (the domain-specificity study's ``load_best_model_at_end``).

For ``best``, :class:`GenerationValidation` decodes the validation split with the module's current
network at the end of the scored epochs, scores it with the task's procedure (exactly what the closing
evaluation runs, :mod:`biogpt.evaluation.protocol`) and logs ``valid/<metric>``; a
:class:`BestEpochCheckpoint` keeps the checkpoint of the highest score (ties keep the earlier epoch, as
transformers' ``Trainer`` does). Both are Lightning callbacks, so their state (the best score and path so
far) travels in the step checkpoints and a resumed run keeps comparing against it.

Several processes: the generation runs on rank 0 only, with the network each DDP rank holds whole, and the
score is broadcast, so every rank logs and checkpoints alike; the other ranks wait for it at the broadcast
(so the valid split must decode within the process group's timeout). Sharded strategies (FSDP) are
refused: a forward pass there needs every rank.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.strategies import DDPStrategy

from biogpt.evaluation.protocol import model_generations, selected_ids
from biogpt.evaluation.scoring import score_predictions
from biogpt.generation.tasks import Generator
from biogpt.prompts import PromptSettings
from biogpt.tokenizer.protocol import Tokenizer
from biogpt.training.settings import VALID_PREFIX, SelectSettings, ValidationData

logger = logging.getLogger(__name__)


class GenerationValidation(Callback):
    """Logs ``valid/<metric>`` (and the score's other metrics) at the end of each scored epoch, from the
    module's current network decoding the validation split with ``tokenizer`` and ``prompt``."""

    def __init__(
        self, tokenizer: Tokenizer, prompt: PromptSettings, data: ValidationData, select: SelectSettings
    ) -> None:
        if data.settings.split is None or data.settings.ids is not None:
            raise ValueError("the validation score decodes a whole split (or its first eval.limit examples)")
        self.split: str = data.settings.split
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.data = data
        self.select = select

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.world_size > 1 and not isinstance(trainer.strategy, DDPStrategy):
            raise ValueError(
                f"select.final=best scores on rank 0 with a whole network: {type(trainer.strategy).__name__} "
                "shards it; use one device or DDP (trainer=gpu, trainer=ddp)"
            )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self.select.scores(trainer.current_epoch + 1):
            return
        metrics = self._score(pl_module) if trainer.is_global_zero else None
        metrics = trainer.strategy.broadcast(metrics, src=0)
        if self.select.metric not in metrics:
            raise ValueError(
                f"select.metric={self.select.metric!r} is not among the {self.data.task.name} scores: "
                f"{', '.join(sorted(metrics))}"
            )
        for name, value in metrics.items():
            pl_module.log(VALID_PREFIX + name, value, prog_bar=name == self.select.metric, sync_dist=False)
        logger.info(
            "epoch %d: %s%s = %.4f", trainer.current_epoch + 1, VALID_PREFIX, self.select.metric,
            metrics[self.select.metric],
        )  # fmt: skip

    def _score(self, pl_module: L.LightningModule) -> dict[str, float]:
        """The validation split decoded by the current network and scored; the network's mode is kept."""
        data = self.data
        ids = selected_ids(data.settings, data.task)
        model = pl_module.model  # the bare network, never a DDP wrapper: no collective in its forward
        was_training = model.training
        try:
            generations = model_generations(
                Generator(model, self.tokenizer, self.prompt),
                data.task,
                data.settings,
                data.layout,
                ids,
                cache_dir=data.cache_dir,
                train_split=data.train_split,
            )
        finally:
            model.train(was_training)
        scores = score_predictions(data.task, generations, split=self.split, ids=ids)
        return {name: float(value) for name, value in scores.metrics.items()}


class BestEpochCheckpoint(ModelCheckpoint):
    """The checkpoint of the highest ``monitor`` among the scored epochs, saved at their end.

    Epochs before ``from_epoch`` are no candidates: their score is not logged, which Lightning's
    checkpoint would take for a misconfigured monitor once a validation loop has run.
    """

    def __init__(self, *, from_epoch: int, **options: Any) -> None:
        super().__init__(save_on_train_epoch_end=True, **options)
        self.from_epoch = from_epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.from_epoch:
            super().on_train_epoch_end(trainer, pl_module)


def best_model_callbacks(
    directory: Path,
    tokenizer: Tokenizer,
    prompt: PromptSettings,
    data: ValidationData,
    select: SelectSettings,
) -> list[Callback]:
    """The scorer and the checkpoint of the best score (``directory/best-epochNNN.ckpt``), in this order:
    the score of an epoch is logged before the checkpoint reads it."""
    checkpoint = BestEpochCheckpoint(
        from_epoch=select.from_epoch,
        dirpath=directory,
        filename="best-epoch{epoch:03d}",
        auto_insert_metric_name=False,
        monitor=select.monitor,
        mode="max",
        save_top_k=1,
        every_n_epochs=select.every_n_epochs,
        enable_version_counter=False,
    )
    return [GenerationValidation(tokenizer, prompt, data, select), checkpoint]
