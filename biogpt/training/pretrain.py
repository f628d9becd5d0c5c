"""Causal-LM pre-training: the shared causal-LM module with pre-training's logs and dropout seeding.

The loss, its fairseq normalisation over the whole update, validation and the optimiser are those of
:class:`~biogpt.training.module.CausalLMModule` (a pre-training block is a sequence whose every token
is a target). What differs is what a long run needs to report (perplexity, gradient norm, fp16 loss
scale, global tokens/s per update) and how dropout resumes.

Dropout. Each micro-batch reseeds torch from ``(seed, epoch, batch index, rank)``, as fairseq reseeds
from ``seed + updates`` at each update: the masks then depend only on the position in training, so a
resumed run draws the same masks as an uninterrupted one, and each rank of a DDP run draws its own.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from biogpt.model import BioGPT
from biogpt.training.loss import perplexity
from biogpt.training.module import CausalLMModule
from biogpt.training.optim import OptimSettings


def dropout_seed(seed: int, epoch: int, batch_index: int, rank: int) -> int:
    """A well-mixed 63-bit seed for one micro-batch of one rank."""
    return int(np.random.SeedSequence([seed, epoch, batch_index, rank]).generate_state(2, np.uint64)[0] >> 1)


class CausalLMPretrainer(CausalLMModule):
    def __init__(self, model: BioGPT, optim: OptimSettings, *, seed: int) -> None:
        super().__init__(model, optim)
        self.seed = seed
        self._update_tokens = 0
        self._update_started = time.perf_counter()

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Reseeds instead of restoring a saved random state: the seed is a function of the position."""
        torch.manual_seed(dropout_seed(self.seed, self.current_epoch, batch_idx, self.global_rank))

    def on_train_epoch_start(self) -> None:
        """Nothing to restore (see :meth:`on_train_batch_start`)."""

    def log_step(self, batch: dict[str, Any], loss: torch.Tensor, count: int) -> None:
        super().log_step(batch, loss, count)
        self.log("train/ppl", perplexity(loss), batch_size=count)
        self._update_tokens = int(batch["update_tokens"])

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Runs once per update, after DDP's all-reduce and (fp16) unscaling: the update's own gradient."""
        super().on_before_optimizer_step(optimizer)
        norms = [torch.linalg.vector_norm(p.grad) for p in self.parameters() if p.grad is not None]
        self.log("train/grad_norm", torch.linalg.vector_norm(torch.stack(norms)))
        now = time.perf_counter()
        self.log("train/tokens_per_s", self._update_tokens / max(now - self._update_started, 1e-9))
        self._update_started = now
