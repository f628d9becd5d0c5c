"""Training-step time and peak memory of full fine-tuning against LoRA (``peft=lora``) at the ``biogpt``
shape on CPU.

Why: LoRA's case is memory (no gradients or Adam moments for the frozen base) and, on a large model, the
optimizer step; this measures both on our BioGPT network with ``peft``'s adapters, all sides in one run.
Each side (full, then LoRA at each rank) runs in its own process, so that its peak resident memory
(``ru_maxrss``: weights, gradients, optimizer state and activations) is its own; each builds the same
random network (seed 0, dropout off), takes one untimed update, then ``--repeats`` timed updates of AdamW
on the same batch (forward, backward, optimizer step), and reports the median. The first update's loss
is the same on every side (LoRA's B starts at zero), which the script checks: the sides compute the same
network.

    python benchmarks/bench_peft.py                      # biogpt shape (24 layers), batch 2 x 256, r 8 and 64
    python benchmarks/bench_peft.py --layers 4 --seq 64  # a quicker look
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch

from biogpt import BioGPT, BioGPTConfig
from biogpt.model.adapters import PeftSettings, add_adapters, lora_config
from biogpt.training.loss import next_token_targets, summed_lm_loss

FULL = "full"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=24, help="decoder layers (biogpt: 24)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--ranks", type=int, nargs="+", default=[8, 64], help="LoRA ranks (alpha = 2 r)")
    parser.add_argument("--repeats", type=int, default=3, help="timed updates per side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--side", help=argparse.SUPPRESS)  # one side, in a child process
    return parser.parse_args()


def measure(side: str, args: argparse.Namespace) -> dict[str, Any]:
    """One side's updates, in this process: ``full`` or ``r<rank>``."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BioGPTConfig.from_preset("biogpt", num_layers=args.layers, dropout=0.0, attention_dropout=0.0)
    model = BioGPT(config).train()
    if side != FULL:
        rank = int(side.removeprefix("r"))
        settings = PeftSettings(method="lora", r=rank, alpha=2.0 * rank, dropout=0.0)
        add_adapters(model, lora_config(model, settings))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(4, config.vocab_size, (args.batch, args.seq), generator=generator)
    targets = next_token_targets(input_ids)
    times, first_loss = [], None
    for _ in range(args.repeats + 1):
        started = time.perf_counter()
        total, count = summed_lm_loss(model(input_ids), targets)
        loss = total / count
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
        first_loss = float(loss) if first_loss is None else first_loss
    return {
        "side": side,
        "trainable": sum(p.numel() for p in trainable),
        "parameters": sum(p.numel() for p in model.parameters()),
        "step_s": statistics.median(times[1:]),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
        "first_loss": first_loss,
    }


def run_side(side: str, args: argparse.Namespace) -> dict[str, Any]:
    options = ["--layers", str(args.layers), "--batch", str(args.batch), "--seq", str(args.seq)]
    options += ["--repeats", str(args.repeats), "--threads", str(args.threads), "--side", side]
    done = subprocess.run([sys.executable, __file__, *options], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"side {side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    if args.side:
        print(json.dumps(measure(args.side, args)))
        return
    results = [run_side(side, args) for side in [FULL, *(f"r{rank}" for rank in args.ranks)]]
    full = results[0]
    for result in results[1:]:
        if abs(result["first_loss"] - full["first_loss"]) > 1e-4:
            raise SystemExit(
                f"{result['side']}: first loss {result['first_loss']} != full {full['first_loss']}"
            )
    print(
        f"biogpt shape, {args.layers} layers, {full['parameters']:,} parameters; batch {args.batch} x "
        f"{args.seq} tokens, AdamW, fp32, {args.threads} threads, median of {args.repeats} updates\n"
    )
    print("| side | trainable parameters | step | vs full | peak RSS | vs full |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        name = "full fine-tuning" if result["side"] == FULL else f"LoRA r={result['side'][1:]}"
        print(
            f"| {name} | {result['trainable']:,} | {result['step_s']:.2f} s | "
            f"{result['step_s'] / full['step_s']:.2f}x | {result['peak_rss_gb']:.2f} GB | "
            f"{result['peak_rss_gb'] / full['peak_rss_gb']:.2f}x |"
        )


if __name__ == "__main__":
    main()
