"""Prompt fine-tuning of BioGPT as a LightningModule.

The loss follows fairseq: token cross-entropies are summed and divided by the number of predicted
tokens of the whole optimizer update, over every micro-batch and every rank. Each micro-batch
carries that total (``update_tokens``, planned by :mod:`biogpt.data.batching`), and the step loss is
scaled so that Lightning's division by ``accumulate_grad_batches`` and DDP's gradient averaging
cancel out: the update's gradient is exactly ``sum(token losses) / update_tokens``.

``train_only_prompt`` freezes the backbone: only the soft prompt's embedding rows (those past
``base_vocab_size``) change, and they get no weight decay.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch

from biogpt.checkpoint import LIGHTNING_CONFIG_KEY
from biogpt.loss import summed_lm_loss, update_normalised
from biogpt.model import BioGPT
from biogpt.optim import OptimConfig, build_optimizer


class PromptFineTuner(L.LightningModule):
    def __init__(
        self, model: BioGPT, optim: OptimConfig, *, base_vocab_size: int, train_only_prompt: bool = False
    ) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.base_vocab_size = base_vocab_size
        self.train_only_prompt = train_only_prompt
        if train_only_prompt:
            self._freeze_backbone()
        self._valid_sums = torch.zeros(2)
        self._step_started = time.perf_counter()

    def _freeze_backbone(self) -> None:
        if self.model.config.vocab_size <= self.base_vocab_size:
            raise ValueError(
                "train_only_prompt needs a soft prompt (prompt=soft): there are no prompt rows to train"
            )
        for param in self.model.parameters():
            param.requires_grad_(False)
        embedding = self.model.embed_tokens.weight
        embedding.requires_grad_(True)
        frozen_rows = self.base_vocab_size

        def keep_prompt_rows(grad: torch.Tensor) -> torch.Tensor:
            grad = grad.clone()
            grad[:frozen_rows] = 0
            return grad

        embedding.register_hook(keep_prompt_rows)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(batch["input_ids"], batch["attention_mask"])
        return summed_lm_loss(logits, batch["targets"])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        total, count = self(batch)
        trainer = self.trainer
        elapsed = time.perf_counter() - self._step_started
        self._step_started = time.perf_counter()
        self.log("train/loss", total.detach() / count.clamp(min=1), prog_bar=True, batch_size=int(count))
        self.log("train/tokens_per_s", batch["attention_mask"].sum().float() / max(elapsed, 1e-9))
        self.log("train/lr", trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True)
        return update_normalised(
            total,
            batch["update_tokens"],
            world_size=trainer.world_size,
            accumulation=trainer.accumulate_grad_batches,
            loss_weight=batch["loss_weight"],
        )

    def on_validation_epoch_start(self) -> None:
        self._valid_sums = torch.zeros(2, device=self.device)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        total, count = self(batch)
        self._valid_sums += torch.stack([total.detach(), count.float()]) * batch["loss_weight"]

    def on_validation_epoch_end(self) -> None:
        sums = self.trainer.strategy.reduce(self._valid_sums, reduce_op="sum")
        loss = (sums[0] / sums[1].clamp(min=1)).item()
        self.log("valid/loss", loss, prog_bar=True, sync_dist=False)
        self.log("valid/ppl", math.exp(min(loss, 50.0)), sync_dist=False)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the network's shape, so the checkpoint loads with ``BioGPT.from_pretrained``."""
        checkpoint[LIGHTNING_CONFIG_KEY] = self.model.config.to_dict()

    def configure_optimizers(self) -> dict[str, Any]:
        if self.train_only_prompt:
            groups = [{"params": [self.model.embed_tokens.weight], "weight_decay": 0.0}]
        else:
            groups = [{"params": [p for p in self.model.parameters() if p.requires_grad]}]
        optimizer, scheduler = build_optimizer(self.optim, groups)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
