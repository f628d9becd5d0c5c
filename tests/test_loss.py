"""The loss needs logits only from the batch's first target on (``scored_positions``): the sum, the
count and every gradient equal those over the logits of every position."""

from __future__ import annotations

import pytest
import torch

from biogpt import BioGPT, BioGPTConfig
from biogpt.data.sequences import IGNORE_INDEX
from biogpt.training.loss import scored_positions, summed_lm_loss

X = IGNORE_INDEX  # no target at this position


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ([[X, X, 5, 6, X], [X, X, X, 7, X]], 3),  # from the earliest first target of any row
        ([[4, 5, 6, X], [7, 8, X, X]], 4),  # every position (pre-training, loss_on=all)
        ([[X, X, X, 9], [X, X, X, X]], 1),
        ([[X, X, X], [X, X, X]], 1),  # a filler batch without targets still gets one position
    ],
)
def test_scored_positions_start_at_the_first_target_of_any_row(
    targets: list[list[int]], expected: int
) -> None:
    assert scored_positions(torch.tensor(targets)) == expected


def test_the_loss_over_the_scored_positions_equals_the_loss_over_all() -> None:
    torch.manual_seed(0)
    model = BioGPT(BioGPTConfig.from_preset("tiny", vocab_size=300, max_positions=64)).train()
    input_ids = torch.randint(4, 300, (3, 12))
    targets = input_ids.roll(-1, dims=1)
    for row, source in enumerate((5, 7, 9)):  # sources of different lengths, then the targets
        targets[row, :source] = IGNORE_INDEX
    targets[:, -1] = IGNORE_INDEX

    def loss_and_grads(keep: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # the same dropout masks
        total, count = summed_lm_loss(
            model(input_ids, logits_to_keep=keep), targets[:, -keep:] if keep else targets
        )
        total.backward()
        return total.detach(), count, {name: p.grad.clone() for name, p in model.named_parameters()}

    keep = scored_positions(targets)
    assert keep == 12 - 5
    total, count, grads = loss_and_grads(keep)
    full_total, full_count, full_grads = loss_and_grads(0)
    assert int(count) == int(full_count) == int((targets != IGNORE_INDEX).sum())
    torch.testing.assert_close(total, full_total, rtol=1e-6, atol=0.0)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, full_grads[name], rtol=1e-5, atol=1e-7, msg=name)
