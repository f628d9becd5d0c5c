"""Validate after a run's last update, also when an update bound (``trainer.max_steps``) ends it in the
middle of an epoch.

Lightning validates at epoch ends (and every ``val_check_interval``); a run that reaches ``max_steps``
mid-epoch stops without validating, so its last weights have no validation loss. fairseq validates when
``--max-update`` is reached; so does a run with this callback: it asks the trainer to stop after the
update that reaches the bound, and Lightning validates a run that is asked to stop. A hyperparameter
search (``hparams_search=...``) adds it, so that every trial records its ``valid/*`` metrics.
"""

from __future__ import annotations

from typing import Any

import lightning as L


class ValidateAtLastUpdate(L.Callback):
    """Request the stop (and with it a validation) after the batch whose update reaches ``max_steps``."""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if 0 < trainer.max_steps <= trainer.global_step:
            trainer.should_stop = True
