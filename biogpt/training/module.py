"""The language-model LightningModule that fine-tuning and pre-training share, for every backbone.

The module sees its network only through :class:`~biogpt.model.backbone.Backbone`: a decoder-only
model predicts the next token of its sequence, an encoder-decoder's decoder the next target token;
either way the loss compares the batch's logits with its ``targets``.

The loss follows fairseq: token cross-entropies are summed and divided by the number of predicted
tokens of the whole optimizer update, over every micro-batch and every rank. Each micro-batch carries
that total (``update_tokens``), and the step loss is scaled so that Lightning's division by
``accumulate_grad_batches`` and DDP's gradient averaging cancel out: the update's gradient is exactly
``sum(token losses) / update_tokens``.

Resuming. Checkpoints record the network's config (so they load alone, see
:func:`biogpt.model.loading.load_network`) and
torch's random state, from which the next micro-batch's dropout draws; a resumed run restores it
so that it draws the masks an uninterrupted run draws. Besides dropout, the only draw from that
generator is the seed a data loader takes when an epoch's iteration starts, and when that happens
differs: an uninterrupted run starts the next epoch's iteration after ``on_train_epoch_start``, a
resumed run starts its first epoch's before the checkpoint is restored. So a checkpoint taken
mid-epoch is restored just before the next micro-batch, and one taken at the end of an epoch at the
next epoch's start, followed by the loader's seed draw the resumed run made too early.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import lightning as L
import torch
from lightning.pytorch.strategies import FSDPStrategy

from biogpt.model.backbone import Backbone
from biogpt.model.quantized import quantized_entries
from biogpt.model.weights import CheckpointError
from biogpt.training.loss import perplexity, scored_logits, summed_lm_loss, update_normalised
from biogpt.training.optim import OptimSettings, build_optimizer

# The prefix of the network's weights in the module's state dict (the module's ``model`` attribute).
MODEL_PREFIX = "model."
# Checkpoint entry holding the random state of the run at the checkpoint.
RANDOM_STATE_KEY = "biogpt_random_state"


class CausalLMModule(L.LightningModule):
    """A backbone trained with the language-model loss under fairseq's normalisation and the paper's
    optimiser."""

    def __init__(self, model: Backbone, optim: OptimSettings) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self._valid_sums = torch.zeros(2)
        self._step_started = time.perf_counter()
        self._restore: dict[str, Any] | None = None
        # QLoRA's 4-bit base (weights and quantisation state) is rebuilt from model.init, bit for bit, on
        # every start: checkpoints leave it out, and loading one expects exactly the rest.
        self.rebuilt_entries = frozenset(MODEL_PREFIX + key for key in quantized_entries(model))
        self.strict_loading = not self.rebuilt_entries

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return summed_lm_loss(*scored_logits(self.model, batch))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        total, count = self(batch)
        self.log_step(batch, total.detach() / count.clamp(min=1), int(count))
        trainer = self.trainer
        return update_normalised(
            total,
            batch["update_tokens"],
            world_size=trainer.world_size,
            accumulation=trainer.accumulate_grad_batches,
            loss_weight=batch["loss_weight"],
        )

    def log_step(self, batch: dict[str, Any], loss: torch.Tensor, count: int) -> None:
        """What each micro-batch logs: its loss, the learning rate, and its input tokens per second."""
        elapsed = time.perf_counter() - self._step_started
        self._step_started = time.perf_counter()
        self.log("train/loss", loss, prog_bar=True, batch_size=count)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True)
        if batch["attention_mask"] is not None:
            self.log("train/tokens_per_s", batch["attention_mask"].sum().float() / max(elapsed, 1e-9))

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Once per update, after (fp16) unscaling: the loss scale, where a gradient scaler runs."""
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if scaler is not None:
            self.log("train/loss_scale", float(scaler.get_scale()))

    def on_validation_epoch_start(self) -> None:
        self._valid_sums = torch.zeros(2, device=self.device)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        total, count = self(batch)
        self._valid_sums += torch.stack([total.detach(), count.float()]) * batch["loss_weight"]

    def on_validation_epoch_end(self) -> None:
        sums = self.trainer.strategy.reduce(self._valid_sums, reduce_op="sum")
        loss = (sums[0] / sums[1].clamp(min=1)).item()
        self.log("valid/loss", loss, prog_bar=True, sync_dist=False)
        self.log("valid/ppl", perplexity(loss), sync_dist=False)

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: every trainable parameter, with the configured decay."""
        return [{"params": [p for p in self.model.parameters() if p.requires_grad]}]

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer, scheduler = build_optimizer(
            self.optim, self.optimizer_groups(), total_updates=self._total_updates()
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def _total_updates(self) -> int | None:
        """The run's optimizer updates (epochs x updates per epoch, or max_steps), which only the linear
        schedule needs; the inverse square root schedule does without, so its runs never size the
        training loader for it."""
        if self.optim.schedule != "linear":
            return None
        estimate = self.trainer.estimated_stepping_batches
        if not math.isfinite(estimate):
            raise ValueError("optim.schedule=linear needs a bounded run: set trainer.max_epochs or max_steps")
        return int(estimate)

    # --- checkpoints and exact resume ------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint.update(self.model.checkpoint_entries())
        for key in self.rebuilt_entries:
            checkpoint["state_dict"].pop(key, None)
        trained = self.trainer.fit_loop.epoch_loop.batch_progress.current.ready
        checkpoint[RANDOM_STATE_KEY] = {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "epoch_end": trained >= self.trainer.num_training_batches,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._restore = checkpoint.get(RANDOM_STATE_KEY)
        if not isinstance(self.trainer.strategy, FSDPStrategy):  # FSDP's own state dict is sharded
            self._check_fits(checkpoint["state_dict"])

    def _check_fits(self, stored: dict[str, Any]) -> None:
        """A checkpoint of another configuration (another task's prompt rows, adapters where this run
        has none, another model) is a :class:`CheckpointError` naming what differs, before loading it
        fails in Lightning's ``RuntimeError``; QLoRA's 4-bit base, rebuilt on every start and loaded
        without strictness, is left out of the comparison."""
        own = {name: value for name, value in self.state_dict().items() if name not in self.rebuilt_entries}
        missing, unexpected = sorted(set(own) - set(stored)), sorted(set(stored) - set(own))
        reshaped = [
            f"{name} is {list(stored[name].shape)}, here {list(value.shape)}"
            for name, value in own.items()
            if name in stored and tuple(stored[name].shape) != tuple(value.shape)
        ]
        problems = [
            *([f"missing {', '.join(missing[:4])}"] if missing else []),
            *([f"unexpected {', '.join(unexpected[:4])}"] if unexpected else []),
            *reshaped[:4],
        ]
        if problems:
            raise CheckpointError(
                "the checkpoint to resume does not fit this run's model (a checkpoint of another task, "
                f"prompt, model or peft setting?): {'; '.join(problems)}"
            )

    def on_train_epoch_start(self) -> None:
        if self._restore is not None and self._restore["epoch_end"]:
            self._restore_random_state()
            torch.empty((), dtype=torch.int64).random_()  # the data loader's seed (see the module doc)

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self._restore is not None:
            self._restore_random_state()

    def _restore_random_state(self) -> None:
        state, self._restore = self._restore, None
        torch.set_rng_state(state["cpu"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def full_model_weights(trainer: L.Trainer) -> dict[str, torch.Tensor]:
    """The network's whole weights (its names, without the module's ``model.`` prefix).

    Every rank must call it: under FSDP the weights are sharded and gathering them is a collective,
    which a rank-0-only ``state_dict()`` would leave waiting for the other ranks.
    """
    state = trainer.strategy.lightning_module_state_dict()
    return {
        key.removeprefix(MODEL_PREFIX): value for key, value in state.items() if key.startswith(MODEL_PREFIX)
    }


def validation_loss(module: CausalLMModule, loader: Iterable[dict[str, Any]]) -> tuple[float, float]:
    """The module's loss and perplexity over every batch of ``loader``, in this process."""
    model = module.model.eval()
    sums = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(module.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            total, count = module(batch)
            sums += torch.stack([total.double(), count.double()]).cpu() * float(batch["loss_weight"])
    model.train()
    loss = (sums[0] / sums[1].clamp(min=1)).item()
    return loss, perplexity(loss)
