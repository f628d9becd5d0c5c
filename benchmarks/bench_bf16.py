"""Lower-precision greedy decoding: ours in float32 and in bfloat16, against ``transformers`` in bfloat16.

Same random weights (the real biogpt shape unless ``--layers`` says otherwise), same prompts (real
BC5CDR abstracts cut to ``--prompt-tokens`` tokens, as ``bench_generation.py``), greedy,
``--new-tokens`` tokens with ``</s>`` not ending the run early. bf16 decoding is not expected to give
the float32 tokens exactly, so the outputs are compared rather than required equal: the rows whose
continuation is identical, and the share of tokens generated before a row's first difference, for our
bf16 (float32 residual stream and logits) and for ``transformers``' (bf16 throughout) against our
float32, beside the bound any bf16 copy of the weights has (those weights run wholly in float32). Then
interleaved runs are timed and medians, tokens/s and the ratios printed (bf16 against fp32 on our side;
ours against ``transformers`` with the same dtype on both sides), with each side's median count of
minor page faults per run (memory the process had to get from the kernel again).

    python benchmarks/bench_bf16.py                                  # batch 1 and 8, 128 new tokens
    python benchmarks/bench_bf16.py --layers 4 --new-tokens 16       # a quick check that it runs
    python benchmarks/bench_bf16.py --model outputs/demo/<run>/pretrain/final --prompt-tokens 24 \
        --new-tokens 32 --batch-sizes 64                                 # a trained model's agreement
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_generation import decoding_parser, prompts, transformers_greedy
from machine import describe_machine
from transformers import BioGptConfig, BioGptForCausalLM

from biogpt import BioGPT
from biogpt.generation import GenerationSettings, generate

Tokens = list[list[int]]
# Whose tokens are compared with whose: both bf16 runs against float32 (beside the bound), and with each
# other.
BOUND = "bf16 weights in fp32"
COMPARED = [
    (BOUND, "ours fp32"),
    ("ours bf16", "ours fp32"),
    ("transformers bf16", "ours fp32"),
    ("ours bf16", "transformers bf16"),
]


def parse_args() -> argparse.Namespace:
    parser = decoding_parser(__doc__)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--model",
        type=Path,
        help="a BioGPT model directory (weights and vocabulary) instead of random weights",
    )
    return parser.parse_args()


def agreement(candidate: Tokens, reference: Tokens) -> str:
    """Rows with identical continuations, and the share of tokens before each row's first difference."""
    same_rows = sum(a == b for a, b in zip(candidate, reference, strict=True))
    prefix = 0
    for a, b in zip(candidate, reference, strict=True):
        prefix += next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(b))
    total = sum(len(row) for row in reference)
    share = 100 * prefix / total
    return f"{same_rows}/{len(reference)} rows identical, {share:.1f}% of tokens before a difference"


def runner(
    name: str, model: torch.nn.Module, batch: torch.Tensor, settings: GenerationSettings
) -> Callable[[], Tokens]:
    """One greedy run of ``batch`` (``settings.max_new_tokens`` tokens): ``transformers``' or ours."""
    if name.startswith("transformers"):
        return lambda: transformers_greedy(model, batch, settings.max_new_tokens)
    return lambda: generate(model, batch.tolist(), settings, eos_id=2, pad_id=1)  # type: ignore[arg-type]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as temporary:
        directory = args.model or temporary
        if args.model is None:
            BioGptForCausalLM(BioGptConfig(num_hidden_layers=args.layers)).save_pretrained(directory)
        models = {
            "ours fp32": BioGPT.from_pretrained(directory),
            "ours bf16": BioGPT.from_pretrained(directory, dtype=torch.bfloat16),
            "transformers bf16": BioGptForCausalLM.from_pretrained(
                directory, attn_implementation="sdpa", dtype=torch.bfloat16
            ),
        }
        # The best any decoding with bf16 weights can agree with fp32: those weights run wholly in
        # float32. Its tokens are compared, not timed.
        bound = BioGPT.from_pretrained(directory, dtype=torch.bfloat16).float().to(device).eval()
    models = {name: model.to(device).eval() for name, model in models.items()}
    count = max(args.batch_sizes)
    all_prompts = prompts(args.data, count, args.prompt_tokens, vocabulary=args.model).to(device)
    weights = str(args.model) if args.model else f"random weights, biogpt shape with {args.layers} layers"
    settings = GenerationSettings(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    print(
        f"greedy decoding, {weights}, {args.prompt_tokens}-token prompts, "
        f"{args.new_tokens} new tokens, {args.threads} threads, {device.type}, "
        f"medians of {args.repeats} interleaved runs"
    )
    for batch_size in args.batch_sizes:
        batch = all_prompts[:batch_size]
        runs = {name: runner(name, model, batch, settings) for name, model in models.items()}
        outputs = {name: run() for name, run in runs.items()}
        outputs[BOUND] = runner(BOUND, bound, batch, settings)()
        for candidate, reference in COMPARED:
            compared = agreement(outputs[candidate], outputs[reference])
            print(f"  batch {batch_size}  tokens of {candidate} vs {reference}: {compared}")
        times: dict[str, list[float]] = {name: [] for name in runs}
        faults: dict[str, list[int]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                synchronize(device)
                faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                run()
                synchronize(device)
                times[name].append(time.perf_counter() - start)
                faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faulted)
        medians = {name: statistics.median(values) for name, values in times.items()}
        tokens = batch_size * args.new_tokens
        for name, median in medians.items():
            print(
                f"  batch {batch_size}  {name:18s} median {median:7.3f} s  {tokens / median:8.1f} tokens/s  "
                f"{statistics.median(faults[name]):8.0f} page faults"
            )
        for reference in ("ours fp32", "transformers bf16"):
            speedup = medians[reference] / medians["ours bf16"]
            print(f"  batch {batch_size}  ours bf16 vs {reference}: {speedup:.2f}x")


if __name__ == "__main__":
    main()
