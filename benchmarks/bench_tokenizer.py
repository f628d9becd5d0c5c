"""Encode throughput of BioGPTTokenizer against transformers.BioGptTokenizer, and of the parallel path.

Corpus: every BC5CDR and KD-DTI abstract in the shared data. Both tokenizers are built from the same
fairseq release files; ids must be identical or the benchmark fails. Reported numbers are medians over
``--repeats`` runs, single process:

* cold: a fresh tokenizer instance per run (empty caches), load time excluded;
* warm: the same instance encoding the corpus a second time.

Then ``tokenize_dataset`` (``datasets.map``) on the corpus repeated ``--copies`` times with 1 and 2
processes, a fresh tokenizer each run.

Usage: python benchmarks/bench_tokenizer.py [--data ../shared/data] [--repeats 3] [--copies 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import datasets
import transformers

from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.parallel import tokenize_dataset
from biogpt.tokenizer.vocab import read_fairseq, write_huggingface

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def load_abstracts(data: Path) -> list[str]:
    abstracts = []
    for corpus, splits in (("BC5CDR", ("train", "valid", "test")), ("KD-DTI", ("valid", "test"))):
        for split in splits:
            records = json.loads((data / corpus / "raw" / f"{split}.json").read_text(encoding="utf-8"))
            abstracts += [record["abstract"] for record in records.values()]
    return abstracts


def timed_encode(encode: Callable[[str], list[int]], texts: list[str]) -> tuple[float, list[list[int]]]:
    start = time.perf_counter()
    ids = [encode(text) for text in texts]
    return time.perf_counter() - start, ids


def measure(
    make: Callable[[], Callable[[str], list[int]]], texts: list[str], repeats: int
) -> tuple[float, float, list[list[int]]]:
    """Median cold and warm seconds over ``repeats`` fresh instances, and the ids."""
    cold, warm = [], []
    for _ in range(repeats):
        encode = make()
        seconds, ids = timed_encode(encode, texts)
        cold.append(seconds)
        warm.append(timed_encode(encode, texts)[0])
    return statistics.median(cold), statistics.median(warm), ids


def report(label: str, seconds: float, docs: int, tokens: int) -> None:
    print(f"  {label:<34} {seconds:8.3f} s {docs / seconds:10.1f} docs/s {tokens / seconds:12.0f} tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4, help="corpus copies for the parallel measurement")
    args = parser.parse_args()

    vocab_dir = args.data / "vocab" / "biogpt"
    texts = load_abstracts(args.data)
    print(f"corpus: {len(texts)} BC5CDR + KD-DTI abstracts, {sum(map(len, texts)) / 1e6:.2f} MB")

    with tempfile.TemporaryDirectory() as hf_dir:
        write_huggingface(Path(hf_dir), read_fairseq(vocab_dir))

        def make_reference() -> Callable[[str], list[int]]:
            reference = transformers.BioGptTokenizer.from_pretrained(hf_dir)
            return lambda text: reference(text, add_special_tokens=False)["input_ids"]

        ref_cold, ref_warm, ref_ids = measure(make_reference, texts, args.repeats)

    def make_ours() -> Callable[[str], list[int]]:
        return BioGPTTokenizer.from_pretrained(vocab_dir).encode

    our_cold, our_warm, our_ids = measure(make_ours, texts, args.repeats)
    if our_ids != ref_ids:
        differing = sum(a != b for a, b in zip(our_ids, ref_ids, strict=True))
        raise SystemExit(f"FAIL: {differing} of {len(texts)} documents get different ids")
    tokens = sum(map(len, our_ids))
    print(f"ids identical for all {len(texts)} documents ({tokens} tokens); medians of {args.repeats} runs")
    docs = len(texts)
    report("transformers.BioGptTokenizer cold", ref_cold, docs, tokens)
    report("transformers.BioGptTokenizer warm", ref_warm, docs, tokens)
    report("BioGPTTokenizer cold", our_cold, docs, tokens)
    report("BioGPTTokenizer warm", our_warm, docs, tokens)
    print(f"  speed-up cold: {ref_cold / our_cold:.1f}x   warm: {ref_warm / our_warm:.1f}x")

    datasets.disable_caching()
    datasets.disable_progress_bars()
    corpus = datasets.Dataset.from_dict({"text": texts * args.copies})
    print(f"tokenize_dataset on {len(corpus)} abstracts (corpus x{args.copies}), fresh tokenizer per run:")
    seconds_by_procs = {}
    for num_proc in (1, 2):
        runs = []
        for _ in range(args.repeats):
            tokenizer = BioGPTTokenizer.from_pretrained(vocab_dir)
            start = time.perf_counter()
            out = tokenize_dataset(corpus, tokenizer, num_proc=num_proc if num_proc > 1 else None)
            runs.append(time.perf_counter() - start)
        if out["input_ids"][: len(texts)] != our_ids:
            raise SystemExit(f"FAIL: tokenize_dataset with {num_proc} processes gives different ids")
        seconds_by_procs[num_proc] = statistics.median(runs)
        report(
            f"{num_proc} process{'es' if num_proc > 1 else ''}",
            seconds_by_procs[num_proc],
            len(corpus),
            tokens * args.copies,
        )
    print(f"  2 vs 1 process: {seconds_by_procs[1] / seconds_by_procs[2]:.2f}x")


if __name__ == "__main__":
    main()
