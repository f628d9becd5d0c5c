"""A callback that kills its own run mid-update, for the kill-and-resume tests (added with
``+callbacks.kill._target_=killing.KillAt +callbacks.kill.updates=N``, ``tests/`` on PYTHONPATH)."""

from __future__ import annotations

import os
import signal

import lightning as L


class KillAt(L.Callback):
    """SIGKILLs its own process in the middle of the update after ``updates`` updates."""

    def __init__(self, updates: int) -> None:
        self.updates = updates

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.updates and (batch_idx + 1) % trainer.accumulate_grad_batches:
            os.kill(os.getpid(), signal.SIGKILL)
