"""Causal language-model loss with fairseq's normalisation.

fairseq sums token losses and divides by the number of predicted tokens of the whole update (all
micro-batches and ranks), not by a per-micro-batch mean. So the loss here returns the sum and the
count, and the caller divides by the update's total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

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
    total = SummedCrossEntropy.apply(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return total, (targets != IGNORE_INDEX).sum()


class SummedCrossEntropy(torch.autograd.Function):
    """``F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="sum")`` in float32, with
    a backward of two passes over the logits instead of five.

    Autograd's backward of the same loss allocates a zeroed ``positions x vocabulary`` gradient for the
    negative log-likelihood, scatters into it, then runs log-softmax's backward over it and the saved
    log-probabilities; over BioGPT's 42,384-token vocabulary those passes were a third of a tiny
    model's training step. Here the gradient, ``softmax - one_hot`` per scored position, is written into
    the saved log-probabilities themselves (``exp`` in place, minus one at each target, times the
    upstream gradient; ignored positions times 0): fewer passes, no new buffer. A second backward
    through the same graph therefore fails (autograd sees the saved tensor modified) instead of giving
    a wrong gradient. Loss and gradient equal autograd's to float rounding (``tests/test_loss.py``).
    """

    @staticmethod
    def forward(ctx: Any, logits: Tensor, targets: Tensor) -> Tensor:  # type: ignore[override]
        scored = targets != IGNORE_INDEX
        safe_targets = targets.masked_fill(~scored, 0)
        log_probabilities = torch.log_softmax(logits, dim=-1, dtype=torch.float32)
        picked = log_probabilities.gather(-1, safe_targets[:, None]).squeeze(-1)
        ctx.save_for_backward(log_probabilities, safe_targets, scored)
        ctx.logits_dtype = logits.dtype
        return -(picked * scored).sum()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        log_probabilities, safe_targets, scored = ctx.saved_tensors
        gradient = log_probabilities.exp_()
        rows = torch.arange(len(safe_targets), device=gradient.device)
        gradient[rows, safe_targets] -= 1.0
        gradient.mul_((scored * grad).to(gradient.dtype)[:, None])
        return gradient.to(ctx.logits_dtype), None
