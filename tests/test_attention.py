"""The blockwise causal attention that CPU training takes with dropout (``biogpt.model.attention``) is
SDPA's math-path computation: without dropout it gives SDPA's outputs and gradients; with dropout, the
dense computation with the masks that ``F.dropout`` draws for each block; and ``attend`` takes it only
where it is meant to."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from biogpt.model import attention
from biogpt.model.attention import attend, blockwise_causal_attention

BLOCK = 16
P = 0.25


def inputs(time: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 3, time, 8, generator=generator, requires_grad=True) for _ in range(3))
    return q, k, v, torch.randn(2, 3, time, 8, generator=generator)


def outputs_and_gradients(function, q, k, v, grad) -> list[torch.Tensor]:
    out = function(q, k, v)
    return [out, *torch.autograd.grad(out, (q, k, v), grad)]


def assert_close(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> None:
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("time", [2, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5])
def test_without_dropout_it_is_sdpa(time: int) -> None:
    q, k, v, grad = inputs(time)
    ours = outputs_and_gradients(lambda *qkv: blockwise_causal_attention(*qkv, 0.0, BLOCK), q, k, v, grad)
    sdpa = outputs_and_gradients(partial(F.scaled_dot_product_attention, is_causal=True), q, k, v, grad)
    assert_close(ours, sdpa)


def dense_with_block_masks(q, k, v, time: int) -> torch.Tensor:
    """The math path over the whole ``time x time`` scores, with the dropout masks ``F.dropout`` draws
    for the blocks in their order (re-seeded as the blockwise run was): keep where the mask kept."""
    keep = torch.zeros(q.shape[0], q.shape[1], time, time)
    for start in range(0, time, BLOCK):
        end = min(start + BLOCK, time)
        block = torch.ones(q.shape[0], q.shape[1], end - start, end)
        keep[:, :, start:end, :end] = F.dropout(block, P, training=True) * (1 - P)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    future = torch.ones(time, time, dtype=torch.bool).triu(1)
    weights = torch.softmax(scores.masked_fill(future, -math.inf), dim=-1)
    return (weights * keep / (1 - P)) @ v, keep[..., ~future]


def test_with_dropout_it_is_the_dense_computation_with_the_blocks_masks() -> None:
    time = 3 * BLOCK + 5
    q, k, v, grad = inputs(time)
    torch.manual_seed(1)
    ours = outputs_and_gradients(lambda *qkv: blockwise_causal_attention(*qkv, P, BLOCK), q, k, v, grad)
    torch.manual_seed(1)
    kept: list[torch.Tensor] = []

    def dense(*qkv: torch.Tensor) -> torch.Tensor:
        out, keep = dense_with_block_masks(*qkv, time)
        kept.append(keep)
        return out

    assert_close(ours, outputs_and_gradients(dense, q, k, v, grad))
    # Dropout did drop: about P of the weights a query may give (2 x 3 x 1,431 of them).
    dropped = 1 - kept[0].mean().item()
    assert 0.2 < dropped < 0.3


def test_attend_takes_the_blockwise_path_only_for_long_causal_float32_training_on_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attention, "CAUSAL_DROPOUT_BLOCK", BLOCK)
    long, short = BLOCK + 1, BLOCK

    def same_draws(first, second, time: int, mask=None, dtype=torch.float32) -> bool:
        q, k, v, _ = (t.detach().to(dtype) for t in inputs(time))
        torch.manual_seed(2)
        a = first(q, k, v, mask)
        torch.manual_seed(2)
        return torch.equal(a, second(q, k, v, mask))

    def ours(q, k, v, mask):
        return attend(q, k, v, mask, P)

    def blockwise(q, k, v, mask):
        return blockwise_causal_attention(q, k, v, P, BLOCK)

    def sdpa(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=P, is_causal=mask is None)

    assert same_draws(ours, blockwise, long) and not same_draws(ours, sdpa, long)
    assert same_draws(ours, sdpa, short)  # one block: SDPA's math path is as fast
    padding = torch.ones(2, 1, long, long, dtype=torch.bool).tril()
    assert same_draws(ours, sdpa, long, mask=padding)
    assert same_draws(ours, sdpa, long, dtype=torch.bfloat16)
    q, k, v, _ = inputs(long)
    assert torch.equal(attend(q, k, v, None, 0.0), F.scaled_dot_product_attention(q, k, v, is_causal=True))
