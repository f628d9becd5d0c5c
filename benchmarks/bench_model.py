"""Training-step time of our BioGPT against ``transformers.BioGptForCausalLM`` (sdpa and eager).

Same random weights, same batch, same loss (mean next-token cross-entropy), dropout off so the three
compute the same function; the script checks their losses agree before timing. Runs are interleaved
(ours, ours-blas, HF sdpa, HF eager, ours, ...) so machine noise hits every side alike; medians are
printed. ``ours-blas`` is ours with ``F.linear`` for every projection (``network.ONEDNN_LINEAR`` off),
the path before the oneDNN projections: its ratio to ``ours`` is what they buy.

    python benchmarks/bench_model.py                # real biogpt shape, batch 2 x 256, 2 threads
    python benchmarks/bench_model.py --layers 4     # a quicker look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
from machine import describe_machine
from transformers import BioGptConfig, BioGptForCausalLM

from biogpt import BioGPT
from biogpt.model import network
from biogpt.training.loss import next_token_targets, summed_lm_loss


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=24, help="decoder layers (biogpt: 24)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per side")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()


def build_models(layers: int) -> tuple[BioGPT, BioGptForCausalLM, BioGptForCausalLM]:
    torch.manual_seed(0)
    config = BioGptConfig(num_hidden_layers=layers, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    reference = BioGptForCausalLM(config)
    with tempfile.TemporaryDirectory() as directory:
        reference.save_pretrained(directory)
        ours = BioGPT.from_pretrained(directory)
        sdpa = BioGptForCausalLM.from_pretrained(directory, attn_implementation="sdpa")
        eager = BioGptForCausalLM.from_pretrained(directory, attn_implementation="eager")
    del reference
    return ours.train(), sdpa.train(), eager.train()


def ours_step(model: BioGPT, input_ids: torch.Tensor) -> torch.Tensor:
    total, count = summed_lm_loss(model(input_ids), next_token_targets(input_ids))
    loss = total / count
    loss.backward()
    return loss.detach()


def blas_step(model: BioGPT, input_ids: torch.Tensor) -> torch.Tensor:
    default, network.ONEDNN_LINEAR = network.ONEDNN_LINEAR, False
    try:
        return ours_step(model, input_ids)
    finally:
        network.ONEDNN_LINEAR = default


def hf_step(model: BioGptForCausalLM, input_ids: torch.Tensor) -> torch.Tensor:
    loss = model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    return loss.detach()


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    ours, sdpa, eager = build_models(args.layers)
    input_ids = torch.randint(
        4, ours.config.vocab_size, (args.batch, args.seq), generator=torch.Generator().manual_seed(1)
    )
    sides: dict[str, Callable[[], torch.Tensor]] = {
        "ours": lambda: ours_step(ours, input_ids),
        "ours-blas": lambda: blas_step(ours, input_ids),
        "hf-sdpa": lambda: hf_step(sdpa, input_ids),
        "hf-eager": lambda: hf_step(eager, input_ids),
    }
    models = {"ours": ours, "ours-blas": ours, "hf-sdpa": sdpa, "hf-eager": eager}
    losses = {name: step() for name, step in sides.items()}  # warm-up, and the equivalence check
    for name, loss in losses.items():
        torch.testing.assert_close(loss, losses["hf-sdpa"], atol=1e-4, rtol=0, msg=f"{name} loss differs")
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, step in sides.items():
            models[name].zero_grad(set_to_none=True)
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"forward+backward, biogpt shape with {args.layers} layers, batch {args.batch} x {args.seq}, "
        f"{args.threads} threads, {args.repeats} interleaved steps per side "
        f"(loss {losses['ours'].item():.4f}; oneDNN projections on: {network.ONEDNN_LINEAR})"
    )
    for name, median in medians.items():
        spread = f"min {min(times[name]):.3f}  max {max(times[name]):.3f}"
        print(f"  {name:9s} median {median:.3f} s   ({spread})")
    print(f"  ratio ours / hf-sdpa  = {medians['ours'] / medians['hf-sdpa']:.3f}  (goal <= 0.9)")
    print(f"  ratio ours / hf-eager = {medians['ours'] / medians['hf-eager']:.3f}")
    print(f"  ratio ours-blas / hf-sdpa = {medians['ours-blas'] / medians['hf-sdpa']:.3f}  (before oneDNN)")
    print(f"  ratio ours / ours-blas = {medians['ours'] / medians['ours-blas']:.3f}  (what oneDNN buys)")


if __name__ == "__main__":
    main()
