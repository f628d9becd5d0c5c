"""A progress bar that shows the update count when updates bound the run.

Lightning's bars title each epoch ``Epoch e/max_epochs - 1``; a run bounded by updates
(``trainer.max_epochs=-1``: pre-training, fine-tuning with ``task.max_updates``) then reads
``Epoch 3/-2``. Here such a run's bar reads ``Epoch 3 · update 120/200``, refreshed after every
micro-batch. Lightning has no public hook for the title, so this overrides the one it uses.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import RichProgressBar


class UpdateProgressBar(RichProgressBar):
    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        if trainer.max_steps is None or trainer.max_steps < 0:
            return super()._get_train_description(current_epoch)
        epochs = f"Epoch {current_epoch}"
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            epochs += f"/{trainer.max_epochs - 1}"
        return f"{epochs} · update {trainer.global_step}/{trainer.max_steps}"

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if self.progress is not None and self.train_progress_bar_id is not None:
            description = self._get_train_description(trainer.current_epoch)
            self.progress.update(self.train_progress_bar_id, description=description)
