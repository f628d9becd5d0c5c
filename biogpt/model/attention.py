"""Scaled dot-product attention for the BioGPT network: PyTorch's SDPA, except for the one case it has
no fused kernel for, causal attention with dropout on CPU (training).

SDPA's fused CPU kernel (flash attention) does not take dropout, so training on CPU falls back to SDPA's
math path: the whole ``time x time`` score matrix, softmax, dropout and product over every key, the
half above the diagonal included, which causality then zeroes. With dropout 0.1 that path made
attention's forward and backward 5x their cost without dropout (the mini shape on 4 x 512 tokens, one
thread: 109 ms against 22 ms for the fused kernel). :func:`attend` computes the same thing
over blocks of queries instead, each against the keys it may see (the keys up to the block's last
query), so the scores, the dropout masks drawn for them and the saved activations are about half as
many: forward and backward 1.5-2.2x faster on one thread for sequences longer than a block (batch 4 x
512 tokens at the mini shape, 512 and 1,024 tokens at BioGPT's 16 heads of 64;
``benchmarks/bench_attention.py``).

It is the math path's computation, block by block: scores scaled by ``1/sqrt(head_dim)``, future keys
at ``-inf``, softmax, ``F.dropout`` (torch's own masks, drawn from the global generator, one block
after another: seeded runs repeat, and checkpoints that restore the generator resume them), then the
product with the values. Results differ from SDPA's by float summation order only, and, with dropout,
by which elements the random masks drop: the generator is drawn in a different shape.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

# Queries per block, and the shortest sequence that takes the blockwise path: at 1,024 tokens 128 was the
# fastest block (2.18x SDPA, against 2.04x for 64 and 2.00x for 256), at 512 within 15% of 64; at 128
# tokens one block is 0.92x SDPA (the benchmark above, one thread of an Intel Xeon with AMX).
CAUSAL_DROPOUT_BLOCK = 128


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float) -> Tensor:
    """Attention of queries ``[batch, heads, time, head_dim]`` over keys and values
    ``[batch, heads, keys, head_dim]``. ``mask`` (boolean, True = may attend) is None when causality
    alone is exact: then the queries are the last ``time`` of the keys, and a prefill (as many queries
    as keys) is causal. ``dropout_p``: the attention dropout to apply (0 outside training)."""
    causal = mask is None and q.shape[2] > 1 and q.shape[2] == k.shape[2]
    if (
        causal
        and dropout_p > 0
        and q.device.type == "cpu"
        and q.dtype == torch.float32
        and q.shape[2] > CAUSAL_DROPOUT_BLOCK
    ):
        return blockwise_causal_attention(q, k, v, dropout_p, CAUSAL_DROPOUT_BLOCK)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal)


def blockwise_causal_attention(q: Tensor, k: Tensor, v: Tensor, dropout_p: float, block: int) -> Tensor:
    """Causal attention with dropout, ``block`` queries at a time against the keys they may see."""
    time = q.shape[2]
    q = q * (1.0 / math.sqrt(q.shape[-1]))
    # Above the diagonal of a block's own keys: the future, at -inf (exp gives exactly 0).
    future = torch.full((block, block), -math.inf, dtype=q.dtype, device=q.device).triu_(1)
    outputs = []
    for start in range(0, time, block):
        end = min(start + block, time)
        scores = torch.matmul(q[:, :, start:end], k[:, :, :end].transpose(-1, -2))
        scores[..., start:end] += future[: end - start, : end - start]
        weights = F.dropout(torch.softmax(scores, dim=-1), dropout_p, training=True)
        outputs.append(torch.matmul(weights, v[:, :, :end]))
    return torch.cat(outputs, dim=2)
