"""Greedy decoding speed: our KV-cached decoder against ``transformers`` ``generate`` on identical weights.

Same random weights (the real biogpt shape unless ``--layers`` says otherwise), same prompts (real
BC5CDR abstracts cut to ``--prompt-tokens`` tokens, equal lengths so neither side pads), greedy,
``--new-tokens`` tokens with ``</s>`` not ending the run early on either side. Checks the outputs are
token-identical, then times interleaved runs and prints medians, tokens/s and the ratios.

Sides: ``ours`` (the default path), ``ours-blas`` (ours with ``F.linear`` for every projection, the
path before oneDNN: its ratio to ``ours`` is what oneDNN buys) and ``transformers``. ``ours`` is also
timed with one new token (the prompt forward alone), so that the decode step's own time is
``(full - prompt) / (new tokens - 1)``; the step reads every weight once (and the KV cache), which
is compared with the machine's read bandwidth, measured as a large fp32 matrix-vector product on the
same threads (the roof).

    python benchmarks/bench_generation.py                  # batch 1 and 8, 128 new tokens
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from machine import describe_machine
from timing import median_seconds
from transformers import BioGptConfig, BioGptForCausalLM

from biogpt import BioGPT
from biogpt.generation import GenerationSettings, generate
from biogpt.model import network
from biogpt.tokenizer import BioGPTTokenizer

T = TypeVar("T")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def decoding_parser(description: str | None) -> argparse.ArgumentParser:
    """The options every decoding benchmark shares (shape, batch sizes, lengths, repeats, threads, data)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs per side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    return parser


def parse_args() -> argparse.Namespace:
    return decoding_parser(__doc__).parse_args()


def prompts(data: Path, count: int, length: int, vocabulary: Path | None = None) -> torch.Tensor:
    """``count`` BC5CDR test abstracts as ``length``-token prompts starting with ``</s>``, in the vocabulary
    at ``vocabulary`` (a vocabulary or model directory; None: the released BioGPT one under ``data``)."""
    tokenizer = BioGPTTokenizer.from_pretrained(vocabulary or data / "vocab" / "biogpt")
    records = json.loads((data / "BC5CDR" / "raw" / "test.json").read_text())
    rows = []
    for record in list(records.values())[:count]:
        ids = tokenizer.encode(record["title"] + " " + record["abstract"])
        rows.append([tokenizer.eos_id, *ids[: length - 1]])
    return torch.tensor(rows)


def transformers_greedy(reference: torch.nn.Module, batch: torch.Tensor, new_tokens: int) -> list[list[int]]:
    """``transformers``' greedy continuation of each row of ``batch``: exactly ``new_tokens`` tokens."""
    with torch.no_grad():
        output = reference.generate(
            batch,
            attention_mask=torch.ones_like(batch),
            do_sample=False,
            num_beams=1,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=1,
            eos_token_id=2,
        )
    return output[:, batch.shape[1] :].tolist()


def read_bandwidth(threads: int, size: int = 8192, repeats: int = 15) -> float:
    """Bytes per second a ``size x size`` fp32 matrix-vector product reads (the matrix dwarfs the caches):
    the faster of the BLAS (``torch.mv``) and our projection (``network.linear``, oneDNN where on)."""
    torch.set_num_threads(threads)
    matrix, vector = torch.randn(size, size), torch.randn(size)
    products = (lambda: torch.mv(matrix, vector), lambda: network.linear(vector[None], matrix))
    size_bytes = matrix.numel() * matrix.element_size()
    return max(size_bytes / median_seconds(product, repeats) for product in products)


def with_blas(run: Callable[[], T]) -> Callable[[], T]:
    """``run`` with ``F.linear`` for every projection (oneDNN off): the path before oneDNN."""
    default = network.ONEDNN_LINEAR

    def wrapped() -> T:
        network.ONEDNN_LINEAR = False
        try:
            return run()
        finally:
            network.ONEDNN_LINEAR = default

    return wrapped


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BioGptConfig(num_hidden_layers=args.layers)
    with tempfile.TemporaryDirectory() as directory:
        BioGptForCausalLM(config).save_pretrained(directory)
        ours = BioGPT.from_pretrained(directory).eval()
        reference = BioGptForCausalLM.from_pretrained(directory, attn_implementation="sdpa").eval()
    all_prompts = prompts(args.data, max(args.batch_sizes), args.prompt_tokens)
    settings = GenerationSettings(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    prompt_only = GenerationSettings(max_new_tokens=1)
    roof = read_bandwidth(args.threads)
    weight_bytes = sum(p.numel() * p.element_size() for p in ours.parameters())
    print(
        f"greedy decoding, biogpt shape with {args.layers} layers, {args.prompt_tokens}-token prompts, "
        f"{args.new_tokens} new tokens, {args.threads} threads, medians of {args.repeats} interleaved runs; "
        f"oneDNN projections on: {network.ONEDNN_LINEAR}"
    )
    print(
        f"  roof: an 8192 x 8192 fp32 matrix-vector product (best of BLAS, oneDNN) reads "
        f"{roof / 1e9:.1f} GB/s; a decode step reads {weight_bytes / 1e9:.3f} GB of weights"
    )
    for batch_size in args.batch_sizes:
        batch = all_prompts[:batch_size]

        def run_ours(batch: torch.Tensor = batch) -> list[list[int]]:
            return generate(ours, batch.tolist(), settings, eos_id=2, pad_id=1)

        def run_reference(batch: torch.Tensor = batch) -> list[list[int]]:
            return transformers_greedy(reference, batch, args.new_tokens)

        def run_prompt(batch: torch.Tensor = batch) -> list[list[int]]:
            return generate(ours, batch.tolist(), prompt_only, eos_id=2, pad_id=1)

        sides = {
            "ours": run_ours,
            "ours-blas": with_blas(run_ours),
            "transformers": run_reference,
            "ours-prompt": run_prompt,
        }
        outputs = {name: sides[name]() for name in ("ours", "ours-blas", "transformers")}
        for name, output in outputs.items():
            if output != outputs["transformers"]:
                raise SystemExit(
                    f"batch {batch_size}: {name} tokens differ: timings would compare other work"
                )
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, run in sides.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        medians = {name: statistics.median(values) for name, values in times.items()}
        tokens = batch_size * args.new_tokens
        for name in ("ours", "ours-blas", "transformers"):
            median = medians[name]
            print(f"  batch {batch_size}  {name:12s} median {median:7.3f} s  {tokens / median:8.1f} tokens/s")
        print(
            f"  batch {batch_size}  ours vs transformers: {medians['transformers'] / medians['ours']:.2f}x, "
            f"ours-blas vs transformers: {medians['transformers'] / medians['ours-blas']:.2f}x, "
            f"ours vs ours-blas: {medians['ours-blas'] / medians['ours']:.2f}x; same tokens"
        )
        step = (medians["ours"] - medians["ours-prompt"]) / max(args.new_tokens - 1, 1)
        # The step at an average cache length: every layer's keys and values of every row, read once.
        cached = args.prompt_tokens + args.new_tokens / 2
        cache_bytes = 2 * args.layers * batch_size * cached * config.hidden_size * 4
        rate, with_cache = weight_bytes / step, (weight_bytes + cache_bytes) / step
        print(
            f"  batch {batch_size}  decode step {step * 1e3:.1f} ms: weights {rate / 1e9:.1f} GB/s "
            f"= {rate / roof:.0%} of the roof (with the KV cache {with_cache / roof:.0%}; goal 80%)"
        )


if __name__ == "__main__":
    main()
