"""A training step of our BioGPT in float32 and under bf16 autocast (what ``trainer.precision=bf16-mixed``
runs): where the cost in the warning of :mod:`biogpt.model.precision` comes from.

Same random weights and batch on both sides, dropout off, forward, next-token loss and backward;
interleaved repeats, medians. On a CPU without native bf16 (an AVX2-only one, or kernels limited to
AVX2 as below) every bf16 product is emulated, and a step takes minutes at larger shapes, hence the
small default shape:

    python benchmarks/bench_train_precision.py                       # biogpt shape, 2 layers, 1 x 128
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        python benchmarks/bench_train_precision.py                   # as on an AVX2-only CPU
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext

import torch
from machine import describe_machine
from timing import interleaved_medians

from biogpt import BioGPT, BioGPTConfig
from biogpt.training.loss import next_token_targets, summed_lm_loss


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=2, help="decoder layers of the biogpt shape (24)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per side")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()


def training_step(model: BioGPT, input_ids: torch.Tensor, bf16: bool) -> None:
    """Forward (under bf16 autocast when ``bf16``), the mean next-token loss, backward."""
    with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
        logits = model(input_ids)
    total, count = summed_lm_loss(logits, next_token_targets(input_ids))
    (total / count).backward()
    model.zero_grad(set_to_none=True)


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BioGPTConfig.from_preset("biogpt", num_layers=args.layers, dropout=0.0, attention_dropout=0.0)
    model = BioGPT(config).train()
    input_ids = torch.randint(4, config.vocab_size, (args.batch, args.seq))
    sides = {
        "32-true": lambda: training_step(model, input_ids, bf16=False),
        "bf16-mixed": lambda: training_step(model, input_ids, bf16=True),
    }
    medians = interleaved_medians(sides, args.repeats)
    print(f"training step, biogpt shape with {args.layers} layers, {args.batch} x {args.seq} tokens")
    for name, seconds in medians.items():
        print(f"  {name:10s} median {seconds:8.3f} s")
    print(f"  bf16-mixed / 32-true = {medians['bf16-mixed'] / medians['32-true']:.2f}x")


if __name__ == "__main__":
    main()
