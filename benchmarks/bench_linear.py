"""oneDNN's projections against ``F.linear`` (the BLAS) by width: where ``network.ONEDNN_MIN_FEATURES``
comes from.

For each input width K, three products as the network runs them: the output projection over a
42,384-token vocabulary (160 rows) and a feed-forward projection (K to 4K, 320 rows), forward and
backward as training runs them (``linear``'s autograd function on one side, ``F.linear``'s on the
other), and a square one over 8 rows without gradients (a decoding step of 8 sequences). Interleaved
repeats, medians, one thread unless ``--threads``.

    python benchmarks/bench_linear.py
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


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
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
