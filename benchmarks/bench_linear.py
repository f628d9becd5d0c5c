"""oneDNN's projections against ``F.linear`` (the BLAS) by width: where ``network.ONEDNN_MIN_FEATURES``
comes from; and, with ``--bf16-row``, one bf16 row through ``torch.mv`` against ``F.linear``: where
``network.BF16_MATVEC`` comes from.

For each input width K, three products as the network runs them: the output projection over a
42,384-token vocabulary (160 rows) and a feed-forward projection (K to 4K, 320 rows), forward and
backward as training runs them (``linear``'s autograd function on one side, ``F.linear``'s on the
other), and a square one over 8 rows without gradients (a decoding step of 8 sequences). Interleaved
repeats, medians, one thread unless ``--threads``.

``--bf16-row``: BioGPT's projections for one row without gradients (a batch-1 decoding step of a bf16
model) through ``network.linear`` with ``BF16_MATVEC`` on and off, and in float32, each over enough
distinct weights (``--weights-mb`` of bf16) that they are read from memory as decoding reads them, not
from cache.

    python benchmarks/bench_linear.py
    python benchmarks/bench_linear.py --bf16-row --threads 2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from machine import describe_machine
from timing import interleaved_medians

from biogpt.model import network

VOCABULARY = 42384


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16-row", action="store_true", help="one bf16 row: torch.mv against F.linear")
    parser.add_argument(
        "--weights-mb", type=int, default=1024, help="bf16 weights cycled per --bf16-row side"
    )
    return parser.parse_args()


def product(rows: int, features: int, outputs: int, onednn: bool, training: bool) -> Callable[[], None]:
    """A ``rows`` x ``features`` input through an ``outputs`` x ``features`` weight, on the oneDNN path
    or ``F.linear``: forward and backward where ``training``, else the forward without gradients."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, features, generator=generator, requires_grad=training)
    weight = torch.randn(outputs, features, generator=generator, requires_grad=training)
    grad = torch.randn(rows, outputs, generator=generator)

    def run() -> None:
        network.ONEDNN_LINEAR = onednn
        if training:
            network.linear(x, weight).backward(grad)
        else:
            with torch.no_grad():
                network.linear(x, weight)

    return run


def bf16_copies(features: int, outputs: int, weights_mb: int) -> int:
    """How many distinct ``outputs`` x ``features`` bf16 weights make ``weights_mb``."""
    return max(1, weights_mb * 2**20 // (2 * features * outputs))


def one_row_products(features: int, outputs: int, weights_mb: int) -> dict[str, Callable[[], None]]:
    """One row through ``weights_mb`` of distinct ``outputs`` x ``features`` bf16 weights (with a bias),
    without gradients: ``network.linear`` with ``BF16_MATVEC`` on and off, and the same weights in
    float32 through ``network.linear``."""
    generator = torch.Generator().manual_seed(0)
    copies = bf16_copies(features, outputs, weights_mb)
    weights = [torch.randn(outputs, features, generator=generator) / features**0.5 for _ in range(copies)]
    bias, row = torch.randn(outputs, generator=generator), torch.randn(1, 1, features, generator=generator)
    bf16 = [weight.bfloat16() for weight in weights]

    def run(matvec: bool, dtype: torch.dtype) -> Callable[[], None]:
        stack, x, b = (bf16 if dtype == torch.bfloat16 else weights), row.to(dtype), bias.to(dtype)

        def step() -> None:
            network.BF16_MATVEC = matvec
            with torch.no_grad():
                for weight in stack:
                    network.linear(x, weight, b)

        return step

    return {
        "bf16 torch.mv": run(True, torch.bfloat16),
        "bf16 F.linear": run(False, torch.bfloat16),
        "fp32": run(False, torch.float32),
    }


def bf16_row_table(args: argparse.Namespace) -> None:
    """Microseconds per one-row product, BioGPT's three projection shapes, each side out of cache."""
    default = network.BF16_MATVEC
    print(
        f"one row per product, {args.threads} thread(s), {args.weights_mb} MB of bf16 weights per side, "
        f"median of {args.repeats} interleaved repeats, microseconds per product "
        f"(BF16_MATVEC on this machine: {default})"
    )
    columns = ("bf16 torch.mv", "bf16 F.linear", "fp32", "mv / F.linear")
    print(f"  {'product':>20s} " + " ".join(f"{column:>14s}" for column in columns))
    for name, features, outputs in (
        ("attention 1024x1024", 1024, 1024),
        ("fc1 1024->4096", 1024, 4096),
        ("fc2 4096->1024", 4096, 1024),
    ):
        runs = interleaved_medians(one_row_products(features, outputs, args.weights_mb), args.repeats)
        per_product = 1e6 / bf16_copies(features, outputs, args.weights_mb)
        mv, linear, fp32 = (runs[side] * per_product for side in ("bf16 torch.mv", "bf16 F.linear", "fp32"))
        print(f"  {name:>20s} {mv:14.1f} {linear:14.1f} {fp32:14.1f} {mv / linear:14.2f}")
    network.BF16_MATVEC = default


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    if args.bf16_row:
        bf16_row_table(args)
        return
    network.ONEDNN_MIN_FEATURES, network.ONEDNN_MIN_ROWS = 1, 1  # measure both paths at every shape
    print(f"{args.threads} thread(s), median of {args.repeats} interleaved repeats")
    print(f"  {'K':>5s} {'product':>28s} {'oneDNN ms':>10s} {'BLAS ms':>9s} {'ratio':>6s}")
    for features in args.widths:
        for name, rows, outputs, training in (
            ("output projection, fwd+bwd", 160, VOCABULARY, True),
            ("feed-forward, fwd+bwd", 320, 4 * features, True),
            ("decoding step, fwd", 8, features, False),
        ):
            sides = {onednn: product(rows, features, outputs, onednn, training) for onednn in (True, False)}
            medians = interleaved_medians(sides, args.repeats)
            ours, blas = (medians[flag] * 1000 for flag in (True, False))
            print(f"  {features:5d} {name:>28s} {ours:10.2f} {blas:9.2f} {ours / blas:6.2f}")


if __name__ == "__main__":
    main()
