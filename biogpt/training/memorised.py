"""Stop training once the training examples are memorised: ``debug=overfit``'s goal, checked directly.

An overfitting run asks whether data, targets, prompt, decoding and parsing fit together: a model that
has memorised its few examples must then generate exactly their targets. A fixed epoch count only
approximates that, and how many epochs suffice depends on the CPU's float rounding. This callback
checks the goal itself every few epochs and stops the run as soon as it holds; ``trainer.max_epochs``
is then only a cap.

The check is teacher-forced, in eval mode, on the weights training ends with (it runs after the
epoch's last update, and the run stops before another): every predicted token of every training
example must be the model's most likely token with probability at least ``min_token_probability``.
Greedy decoding then reproduces each target token by token, its end-of-sequence included. The
probability floor keeps a margin over the runner-up (0.6 leaves at most 0.4 to any other token: a gap of
at least ln 1.5 = 0.41 in the logits, far beyond float32 or bf16 rounding of a small model),
so the decoder's different kernels (KV cache, other batch shapes, a dtype of ``eval.dtype``) cannot flip
a choice through rounding.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from biogpt.data.sequences import IGNORE_INDEX
from biogpt.training.loss import scored_logits


class StopWhenMemorised(L.Callback):
    """Stop a run at the end of the first epoch (checked every ``every_n_epochs``) after which every
    training target token is predicted with probability at least ``min_token_probability``; the lowest
    such probability is logged as ``train/min_token_probability``."""

    def __init__(self, min_token_probability: float = 0.6, every_n_epochs: int = 5) -> None:
        if not 0.5 < min_token_probability < 1:
            raise ValueError(f"min_token_probability={min_token_probability} must lie in (0.5, 1)")
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs={every_n_epochs} must be at least 1")
        self.min_token_probability = min_token_probability
        self.every_n_epochs = every_n_epochs

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        lowest = lowest_target_probability(module, trainer.datamodule.ordered_dataloader("train"))
        module.log("train/min_token_probability", lowest, sync_dist=True, reduce_fx="min")
        memorised = trainer.strategy.reduce_boolean_decision(lowest >= self.min_token_probability, all=True)
        if memorised:
            trainer.should_stop = True


def lowest_target_probability(module: L.LightningModule, loader: Any) -> float:
    """The smallest probability ``module`` gives a target token of ``loader``'s batches, in eval mode
    and without drawing from the random generators training uses."""
    lowest = 1.0
    was_training = module.training
    module.eval()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for batch in loader:
            if float(batch["loss_weight"]) == 0:  # a filler batch evening out DDP ranks
                continue
            batch = {k: v.to(module.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            logits, targets = scored_logits(module.model, batch)
            logits = logits.float()
            predicted = targets != IGNORE_INDEX
            probabilities = logits.softmax(-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            if predicted.any():
                lowest = min(lowest, float(probabilities[predicted].min()))
    module.train(was_training)
    return lowest
