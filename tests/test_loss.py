"""The summed loss is ``F.cross_entropy``'s (its value and gradient, in every dtype), and needs logits
only from the batch's first target on (``scored_positions``): the sum, the count and every gradient
equal those over the logits of every position."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("ignored", ["none", "some", "all"])
def test_the_summed_loss_and_its_gradient_are_f_cross_entropys(dtype: torch.dtype, ignored: str) -> None:
    """The oracle is autograd through ``F.cross_entropy`` on float32 copies of the logits (autocast runs
    it in float32 too); the gradient comes back in the logits' dtype, scaled by the upstream gradient."""
    generator = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 7, 50, generator=generator) * 4).to(dtype).requires_grad_()
    targets = torch.randint(0, 50, (3, 7), generator=generator)
    if ignored == "some":
        targets[:, :3] = IGNORE_INDEX
    elif ignored == "all":
        targets[:] = IGNORE_INDEX
    total, count = summed_lm_loss(logits, targets)
    (gradient,) = torch.autograd.grad(total * 0.5, logits)

    reference_logits = logits.detach().float().requires_grad_()
    reference = F.cross_entropy(
        reference_logits.reshape(-1, 50), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    (reference_gradient,) = torch.autograd.grad(reference * 0.5, reference_logits)
    assert total.dtype == torch.float32 and gradient.dtype == dtype
    assert int(count) == int((targets != IGNORE_INDEX).sum())
    torch.testing.assert_close(total, reference, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gradient, reference_gradient.to(dtype), rtol=1e-5, atol=1e-7)
    if ignored == "all":
        assert float(total.detach()) == 0.0 and not gradient.any()


def test_a_second_backward_through_the_loss_fails_rather_than_mislead() -> None:
    """The backward writes the gradient into its saved log-probabilities: a second one must not reuse
    them silently."""
    logits = torch.randn(4, 10, requires_grad=True)
    total, _ = summed_lm_loss(logits, torch.tensor([1, 2, 3, IGNORE_INDEX]))
    total.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        total.backward()
