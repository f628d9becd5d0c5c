"""Causal language-model loss with fairseq's normalisation.

fairseq sums token losses and divides by the number of predicted tokens of the whole update (all
micro-batches and ranks), not by a per-micro-batch mean. So the loss here returns the sum and the
count, and the caller divides by the update's total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from biogpt.data.sequences import IGNORE_INDEX
from biogpt.model.backbone import Backbone

# Perplexities are reported up to exp(50): an untrained model's loss would overflow a float.
MAX_LOG_PERPLEXITY = 50.0


def perplexity(loss: float | Tensor) -> float | Tensor:
    """``exp(loss)``, capped at ``exp(MAX_LOG_PERPLEXITY)``; a tensor stays a tensor (no device sync)."""
    if isinstance(loss, Tensor):
        return loss.clamp(max=MAX_LOG_PERPLEXITY).exp()
    return math.exp(min(loss, MAX_LOG_PERPLEXITY))


def next_token_targets(input_ids: Tensor) -> Tensor:
    """Targets aligned with the logits of unpadded rows: position t predicts token t+1, the last none."""
    targets = input_ids.roll(-1, dims=1)
    targets[:, -1] = IGNORE_INDEX
    return targets


def update_normalised(
    total: Tensor,
    update_tokens: Tensor,
    *,
    world_size: int,
    accumulation: int,
    loss_weight: Tensor | float = 1.0,
) -> Tensor:
    """A micro-batch's summed loss scaled so the update's gradient is ``sum(token losses) / update_tokens``.

    Lightning divides each micro-batch loss by the number of accumulated micro-batches and DDP
    averages gradients over ranks; multiplying by both undoes that, and dividing by the update's
    token total (every micro-batch of every rank) gives fairseq's normalisation exactly.
    ``loss_weight`` is 0 for the filler batches that even out the ranks' step counts.
    """
    return total * (loss_weight * world_size * accumulation / update_tokens)


def scored_positions(targets: Tensor) -> int:
    """How many final positions of the batch a loss over ``targets`` needs logits for: from the first
    position with a target in any row on (at least one). A prompt's source under ``data.loss_on=target``
    needs no logits: the vocabulary projection is the costliest layer of a small model, and its logits
    the largest activation of any model."""
    predicted = (targets != IGNORE_INDEX).any(0).nonzero()
    return targets.shape[1] - int(predicted[0]) if len(predicted) else 1


def scored_logits(model: Backbone, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    """``model``'s logits over the batch's scored positions (:func:`scored_positions`) and the targets
    aligned with them."""
    keep = scored_positions(batch["targets"])
    return model.batch_logits(batch, keep), batch["targets"][:, -keep:]


def summed_lm_loss(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Sum of token cross-entropies and the number of predicted tokens (targets != IGNORE_INDEX)."""
    total = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return total, (targets != IGNORE_INDEX).sum()
