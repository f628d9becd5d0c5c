"""Causal attention with dropout on CPU, forward and backward: SDPA (its math path, the only one that
takes dropout on CPU) against :func:`biogpt.model.attention.blockwise_causal_attention`, the path
training takes there; where ``attention.CAUSAL_DROPOUT_BLOCK`` comes from.

Shapes ``batch x heads x time x head_dim``: the demo's mini model on a 2,048-token fine-tuning batch
(4 x 4 x 512 x 32), BioGPT's 16 heads of 64 at 512 and 1,024 tokens, and a short batch (8 x 4 x 128 x
32). The same queries, keys, values and output gradient on both sides, dropout 0.1; interleaved repeats,
medians, one thread unless ``--threads``. Without dropout both sides compute the same values (checked
here first, to float rounding).

    python benchmarks/bench_attention.py [--blocks 64 128 256]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from machine import describe_machine
from timing import interleaved_medians

from biogpt.model.attention import CAUSAL_DROPOUT_BLOCK, blockwise_causal_attention

SHAPES = ((4, 4, 512, 32), (1, 16, 512, 64), (1, 16, 1024, 64), (8, 4, 128, 32))
DROPOUT = 0.1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, nargs="+", default=[CAUSAL_DROPOUT_BLOCK])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


def inputs(shape: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(shape, generator=generator, requires_grad=True) for _ in range(3))
    return q, k, v, torch.randn(shape, generator=generator)


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)


def step(attention: Callable[..., torch.Tensor], shape: tuple[int, ...]) -> Callable[[], None]:
    q, k, v, grad = inputs(shape)

    def run() -> None:
        attention(q, k, v, DROPOUT).backward(grad)

    return run


def check_equal_without_dropout(shape: tuple[int, ...], block: int) -> float:
    q, k, v, grad = inputs(shape)
    ours = blockwise_causal_attention(q, k, v, 0.0, block)
    theirs = sdpa(q, k, v, 0.0)
    ours_grads = torch.autograd.grad(ours, (q, k, v), grad)
    theirs_grads = torch.autograd.grad(theirs, (q, k, v), grad)
    pairs = [(ours, theirs), *zip(ours_grads, theirs_grads, strict=True)]
    return max((a - b).abs().max().item() for a, b in pairs)


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), dropout {DROPOUT}, median of {args.repeats} interleaved repeats")
    row = "  {:>18s} {:>5} {:>9} {:>13} {:>8} {:>13}"
    print(row.format("shape", "block", "SDPA ms", "blockwise ms", "speed-up", "max diff p=0"))
    for shape in SHAPES:
        for block in args.blocks:
            sides = {
                "sdpa": step(sdpa, shape),
                "ours": step(partial(blockwise_causal_attention, block=block), shape),
            }
            medians = interleaved_medians(sides, args.repeats)
            theirs, ours = (medians[name] * 1000 for name in ("sdpa", "ours"))
            difference = check_equal_without_dropout(shape, block)
            label = "x".join(map(str, shape))
            figures = (f"{theirs:.1f}", f"{ours:.1f}", f"{theirs / ours:.2f}x", f"{difference:.1e}")
            print(row.format(label, block, *figures))


if __name__ == "__main__":
    main()
