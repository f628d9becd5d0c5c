"""Greedy decoding speed: our KV-cached decoder against ``transformers`` ``generate`` on identical weights.

Same random weights (the real biogpt shape unless ``--layers`` says otherwise), same prompts (real
BC5CDR abstracts cut to ``--prompt-tokens`` tokens, equal lengths so neither side pads), greedy,
``--new-tokens`` tokens with ``</s>`` not ending the run early on either side. Checks the outputs are
token-identical, then times interleaved runs and prints medians, tokens/s and the ratio.

    python benchmarks/bench_generation.py                  # batch 1 and 8, 128 new tokens
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import BioGptConfig, BioGptForCausalLM

from biogpt import BioGPT
from biogpt.generation import GenerationConfig, generate
from biogpt.tokenizer import BioGPTTokenizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    return parser.parse_args()


def prompts(data: Path, count: int, length: int) -> torch.Tensor:
    tokenizer = BioGPTTokenizer.from_pretrained(data / "vocab" / "biogpt")
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


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BioGptConfig(num_hidden_layers=args.layers)
    with tempfile.TemporaryDirectory() as directory:
        BioGptForCausalLM(config).save_pretrained(directory)
        ours = BioGPT.from_pretrained(directory).eval()
        reference = BioGptForCausalLM.from_pretrained(directory, attn_implementation="sdpa").eval()
    all_prompts = prompts(args.data, max(args.batch_sizes), args.prompt_tokens)
    settings = GenerationConfig(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    print(
        f"greedy decoding, biogpt shape with {args.layers} layers, {args.prompt_tokens}-token prompts, "
        f"{args.new_tokens} new tokens, {args.threads} threads, medians of {args.repeats} interleaved runs"
    )
    for batch_size in args.batch_sizes:
        batch = all_prompts[:batch_size]

        def run_ours(batch: torch.Tensor = batch) -> list[list[int]]:
            return generate(ours, batch.tolist(), settings, eos_id=2, pad_id=1)

        def run_reference(batch: torch.Tensor = batch) -> list[list[int]]:
            return transformers_greedy(reference, batch, args.new_tokens)

        if run_ours() != run_reference():
            raise SystemExit(f"batch {batch_size}: outputs differ; timings would compare different work")
        times: dict[str, list[float]] = {"ours": [], "transformers": []}
        for _ in range(args.repeats):
            for name, run in (("ours", run_ours), ("transformers", run_reference)):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        medians = {name: statistics.median(values) for name, values in times.items()}
        tokens = batch_size * args.new_tokens
        for name, median in medians.items():
            print(f"  batch {batch_size}  {name:12s} median {median:7.3f} s  {tokens / median:8.1f} tokens/s")
        speedup = medians["transformers"] / medians["ours"]
        print(f"  batch {batch_size}  ours vs transformers: {speedup:.2f}x (goal >= 2x), same tokens")


if __name__ == "__main__":
    main()
