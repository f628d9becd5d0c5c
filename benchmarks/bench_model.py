"""Training-step time of our BioGPT against ``transformers.BioGptForCausalLM`` (sdpa and eager).

Same random weights, same batch, same loss (mean next-token cross-entropy), dropout off so the three
compute the same function; the script checks their losses agree before timing. Runs are interleaved
(ours, ours-blas, HF sdpa, HF eager, ours, ...) so machine noise hits every side alike; medians are
printed. ``ours-blas`` is ours with ``F.linear`` for every projection (``network.ONEDNN_LINEAR`` off),
the path before the oneDNN projections: its ratio to ``ours`` is what they buy.

    python benchmarks/bench_model.py                # real biogpt shape, batch 2 x 256, 2 threads
    python benchmarks/bench_model.py --layers 4     # a quicker look
    python benchmarks/bench_model.py --profile      # where each side's step goes, by operator kind

``--profile`` answers "could ours be much faster than ``transformers`` here?": it times ``--repeats``
steps per side under ``torch.profiler`` and splits their mean self time into matrix products (``mm``,
``addmm``, ``bmm``, oneDNN's linear), attention, the loss's softmax, and everything else. Both networks
run the same matrix products (same count, same shapes), so where the products take most of a step and
run at the same speed in both (the same BLAS, or oneDNN no faster than it), the ratio ours /
``transformers`` cannot fall below their share of ``transformers``' step even if everything else in
ours cost nothing: the script prints that floor. It also counts the products' floating-point operations
(the profiler's count on ``transformers``' side) and sets them against the rate a large square product
reaches on the same threads (the faster of the BLAS and oneDNN): that is the compute roof, and the second
floor is ours / ``transformers`` with ours' products at the roof and everything else as measured.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
from machine import describe_machine
from timing import median_seconds
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
    parser.add_argument(
        "--profile", action="store_true", help="split --repeats steps per side by operator kind"
    )
    return parser.parse_args()


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "mkldnn::_linear_pointwise")
OPERATOR_KINDS = {
    "matrix products": MATMUL_OPS,
    "attention": (
        "aten::_scaled_dot_product_flash_attention_for_cpu",
        "aten::_scaled_dot_product_flash_attention_for_cpu_backward",
        "aten::softmax",
        "aten::_softmax",
        "aten::_softmax_backward_data",
    ),
    "loss softmax": ("aten::_log_softmax", "aten::_log_softmax_backward_data"),
}


def profile_steps(
    sides: dict[str, Callable[[], torch.Tensor]],
    models: dict[str, torch.nn.Module],
    repeats: int,
    threads: int,
) -> None:
    """``repeats`` profiled steps per side: seconds per step by operator kind, and the floors the matrix
    products set (at ``transformers``' speed, and at the compute roof of ``threads`` threads)."""
    from torch.profiler import ProfilerActivity, profile

    seconds: dict[str, dict[str, float]] = {}
    flops: dict[str, float] = {}
    for name, step in sides.items():
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as profiled:
            for _ in range(repeats):
                models[name].zero_grad(set_to_none=True)
                step()
        totals = dict.fromkeys([*OPERATOR_KINDS, "other"], 0.0)
        flops[name] = 0.0
        for event in profiled.key_averages():
            kind = next((k for k, ops in OPERATOR_KINDS.items() if event.key in ops), "other")
            totals[kind] += event.self_cpu_time_total / 1e6 / repeats
            if kind == "matrix products":
                flops[name] += event.flops / repeats
        seconds[name] = totals
    kinds = [*OPERATOR_KINDS, "other"]
    print(f"  {'side':9s} " + "".join(f"{kind:>17s}" for kind in kinds) + f"{'step':>9s}")
    for name, totals in seconds.items():
        step = sum(totals.values())
        print(
            f"  {name:9s} "
            + "".join(f"{totals[k]:8.3f} s {totals[k] / step:5.1%} " for k in kinds)
            + f"{step:7.3f} s"
        )
    reference = seconds["hf-sdpa"]
    share = reference["matrix products"] / sum(reference.values())
    print(f"  floor of ours / hf-sdpa with products at hf-sdpa's speed and nothing else: {share:.3f}")
    print(
        f"  products, ours / hf-sdpa: {seconds['ours']['matrix products'] / reference['matrix products']:.3f}"
        f"; ours-blas / hf-sdpa: {seconds['ours-blas']['matrix products'] / reference['matrix products']:.3f}"
    )
    work, roof = flops["hf-sdpa"], product_rate(threads)
    rates = ", ".join(f"{name} {work / seconds[name]['matrix products'] / 1e9:.0f}" for name in seconds)
    print(
        f"  products: {work / 1e9:.0f} GFLOP per step (profiler's count, hf-sdpa); GFLOP/s: {rates}; "
        f"a {ROOF_SIZE}^3 fp32 product (best of BLAS, oneDNN) runs at {roof / 1e9:.0f} GFLOP/s here"
    )
    ours = seconds["ours"]
    at_roof = sum(ours.values()) - ours["matrix products"] + work / roof
    print(
        f"  floor of ours / hf-sdpa with ours' products at that rate and the rest as measured: "
        f"{at_roof / sum(reference.values()):.3f}"
    )


ROOF_SIZE = 2048


def product_rate(threads: int, size: int = ROOF_SIZE, repeats: int = 7) -> float:
    """Floating-point operations per second of a ``size``-cubed fp32 matrix product on ``threads``
    threads, a shape the libraries run at their best: the faster of the BLAS (``torch.mm``) and our
    projection (``network.linear``, oneDNN where on)."""
    torch.set_num_threads(threads)
    left, right = torch.randn(size, size), torch.randn(size, size)
    products = (lambda: torch.mm(left, right), lambda: network.linear(left, right))
    with torch.no_grad():
        return max(2 * size**3 / median_seconds(product, repeats) for product in products)


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
    if args.profile:
        print(
            f"{args.repeats} profiled steps per side (mean per step), {args.layers} layers, "
            f"batch {args.batch} x {args.seq}, {args.threads} threads"
        )
        profile_steps(sides, models, args.repeats, args.threads)
        return
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
