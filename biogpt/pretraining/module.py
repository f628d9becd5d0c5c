"""Causal-LM pre-training as a LightningModule: the fine-tuner's loss and optimiser, pre-training's logs.

The loss, its fairseq normalisation over the whole update, validation and the optimiser are those of
:class:`~biogpt.finetune.PromptFineTuner` (a pre-training block is a sequence whose every token is a
target). What differs is what a long run needs to report (perplexity, gradient norm, fp16 loss
scale, global tokens/s per update) and dropout that resumes exactly.

Dropout. Each micro-batch reseeds torch from ``(seed, epoch, batch index, rank)``, as fairseq reseeds
from ``seed + updates`` at each update: the masks then depend only on the position in training, so a
resumed run draws the same masks as an uninterrupted one with no generator state in checkpoints, and
each rank of a DDP run draws its own.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from biogpt.finetune import PromptFineTuner
from biogpt.loss import update_normalised
from biogpt.model import BioGPT
from biogpt.optim import OptimConfig


def dropout_seed(seed: int, epoch: int, batch_index: int, rank: int) -> int:
    """A well-mixed 63-bit seed for one micro-batch of one rank."""
    return int(np.random.SeedSequence([seed, epoch, batch_index, rank]).generate_state(2, np.uint64)[0] >> 1)


class CausalLMPretrainer(PromptFineTuner):
    def __init__(self, model: BioGPT, optim: OptimConfig, *, seed: int) -> None:
        super().__init__(model, optim, base_vocab_size=model.config.vocab_size)
        self.seed = seed
        self._update_tokens = 0
        self._update_started = time.perf_counter()

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        torch.manual_seed(dropout_seed(self.seed, self.current_epoch, batch_idx, self.global_rank))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        total, count = self(batch)
        loss = total.detach() / count.clamp(min=1)
        self.log("train/loss", loss, prog_bar=True, batch_size=int(count))
        self.log("train/ppl", torch.exp(loss.clamp(max=50.0)), batch_size=int(count))
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True)
        self._update_tokens = int(batch["update_tokens"])
        return update_normalised(
            total,
            batch["update_tokens"],
            world_size=self.trainer.world_size,
            accumulation=self.trainer.accumulate_grad_batches,
            loss_weight=batch["loss_weight"],
        )

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Runs once per update, after DDP's all-reduce and (fp16) unscaling: the update's own gradient."""
        norms = [torch.linalg.vector_norm(p.grad) for p in self.parameters() if p.grad is not None]
        self.log("train/grad_norm", torch.linalg.vector_norm(torch.stack(norms)))
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if scaler is not None:
            self.log("train/loss_scale", float(scaler.get_scale()))
        now = time.perf_counter()
        self.log("train/tokens_per_s", self._update_tokens / max(now - self._update_started, 1e-9))
        self._update_started = now
