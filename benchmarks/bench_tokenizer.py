"""Encode throughput of BioGPTTokenizer against transformers.BioGptTokenizer, and of the parallel path.

The machine this runs on may be shared, so every figure is reported as CPU seconds of this process
(``time.process_time``, what the work costs) and wall seconds (what it took), medians over
``--repeats`` runs; print ``uptime`` alongside to show the load.

Single process, on every BC5CDR and KD-DTI abstract of the shared data (ids must be identical to the
reference's, or the benchmark fails):

* cold: a fresh tokenizer instance per run (empty caches), load time excluded;
* warm: the same instance encoding the corpus a second time.

Parallel: ``tokenize_dataset`` (``datasets.map``) over every distinct document of the five task corpora
(BC5CDR, KD-DTI, DDI, HoC, PubMedQA), a fresh tokenizer per run, with 1 and 2 processes; besides wall time
it reports the CPU seconds of the parent and of the worker processes, so that the scaling can be judged
even when other work competes for the cores.

Usage: python benchmarks/bench_tokenizer.py [--data ../shared/data] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import datasets
import transformers
from machine import describe_machine

from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.parallel import tokenize_dataset
from biogpt.tokenizer.vocab import read_fairseq, write_huggingface

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_abstracts(data: Path) -> list[str]:
    abstracts = []
    for corpus, splits in (("BC5CDR", ("train", "valid", "test")), ("KD-DTI", ("valid", "test"))):
        for split in splits:
            abstracts += [
                record["abstract"] for record in _read_json(data / corpus / "raw" / f"{split}.json").values()
            ]
    return abstracts


def load_task_documents(data: Path) -> list[str]:
    """Every distinct title, abstract, sentence, question and context of the five task corpora."""
    documents: list[str] = []
    for split in ("train", "valid", "test"):
        for record in _read_json(data / "BC5CDR" / "raw" / f"{split}.json").values():
            documents += [record["title"], record["abstract"]]
        documents += [
            record["abstract"] for record in _read_json(data / "DDI" / "raw" / f"{split}.json").values()
        ]
        lines = (data / "HoC" / "raw" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        documents += [line.split("\t")[0] for line in lines]
    for split in ("valid", "test"):
        for record in _read_json(data / "KD-DTI" / "raw" / f"{split}.json").values():
            documents += [record["title"], record["abstract"]]
    for record in _read_json(data / "PubMedQA" / "raw" / "ori_pqal.json").values():
        documents += [record["QUESTION"], *record["CONTEXTS"], record["LONG_ANSWER"]]
    return [document for document in dict.fromkeys(documents) if document.strip()]


def timed_encode(
    encode: Callable[[str], list[int]], texts: list[str]
) -> tuple[float, float, list[list[int]]]:
    """CPU seconds, wall seconds and the ids of encoding ``texts``."""
    cpu, wall = time.process_time(), time.perf_counter()
    ids = [encode(text) for text in texts]
    return time.process_time() - cpu, time.perf_counter() - wall, ids


def measure(
    make: Callable[[], Callable[[str], list[int]]], texts: list[str], repeats: int
) -> tuple[dict[str, tuple[float, float]], list[list[int]]]:
    """Median (CPU, wall) seconds, cold and warm, over ``repeats`` fresh instances; and the ids."""
    runs: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    for _ in range(repeats):
        encode = make()
        cpu, wall, ids = timed_encode(encode, texts)
        runs["cold"].append((cpu, wall))
        runs["warm"].append(timed_encode(encode, texts)[:2])
    medians = {
        key: (statistics.median(c for c, _ in values), statistics.median(w for _, w in values))
        for key, values in runs.items()
    }
    return medians, ids


def report(label: str, cpu: float, wall: float, docs: int) -> None:
    print(f"  {label:<36} CPU {cpu:7.3f} s ({docs / cpu:8.0f} docs/s)   wall {wall:7.3f} s")


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(describe_machine())

    vocab_dir = args.data / "vocab" / "biogpt"
    texts = load_abstracts(args.data)
    print(f"corpus: {len(texts)} BC5CDR + KD-DTI abstracts, {sum(map(len, texts)) / 1e6:.2f} MB")

    with tempfile.TemporaryDirectory() as hf_dir:
        write_huggingface(Path(hf_dir), read_fairseq(vocab_dir))

        def make_reference() -> Callable[[str], list[int]]:
            reference = transformers.BioGptTokenizer.from_pretrained(hf_dir)
            return lambda text: reference(text, add_special_tokens=False)["input_ids"]

        ref, ref_ids = measure(make_reference, texts, args.repeats)

    def make_ours() -> Callable[[str], list[int]]:
        return BioGPTTokenizer.from_pretrained(vocab_dir).encode

    ours, our_ids = measure(make_ours, texts, args.repeats)
    if our_ids != ref_ids:
        differing = sum(a != b for a, b in zip(our_ids, ref_ids, strict=True))
        raise SystemExit(f"FAIL: {differing} of {len(texts)} documents get different ids")
    print(
        f"ids identical for all {len(texts)} documents ({sum(map(len, our_ids))} tokens);"
        f" medians of {args.repeats}"
    )
    docs = len(texts)
    for name, results in (("transformers.BioGptTokenizer", ref), ("BioGPTTokenizer", ours)):
        for key in ("cold", "warm"):
            report(f"{name} {key}", *results[key], docs)
    for key in ("cold", "warm"):
        print(
            f"  speed-up {key}: CPU {ref[key][0] / ours[key][0]:.1f}x"
            f"   wall {ref[key][1] / ours[key][1]:.1f}x"
        )

    datasets.disable_caching()
    datasets.disable_progress_bars()
    documents = load_task_documents(args.data)
    corpus = datasets.Dataset.from_dict({"text": documents})
    print(
        f"tokenize_dataset on {len(corpus)} distinct task-corpus documents "
        f"({sum(map(len, documents)) / 1e6:.2f} MB), fresh tokenizer per run, medians of {args.repeats}:"
    )
    walls = {}
    expected = None
    for num_proc in (1, 2):
        runs = []
        for _ in range(args.repeats):
            tokenizer = BioGPTTokenizer.from_pretrained(vocab_dir)
            (own, children), wall = _cpu_seconds(), time.perf_counter()
            out = tokenize_dataset(corpus, tokenizer, num_proc=num_proc if num_proc > 1 else None)
            (own_end, children_end), wall_end = _cpu_seconds(), time.perf_counter()
            runs.append((wall_end - wall, own_end - own, children_end - children))
        expected = expected or out["input_ids"]
        if out["input_ids"] != expected:
            raise SystemExit(f"FAIL: tokenize_dataset with {num_proc} processes gives different ids")
        wall, own, children = (statistics.median(run[i] for run in runs) for i in range(3))
        walls[num_proc] = wall
        per_doc = (own + children) / len(corpus) * 1e6
        print(
            f"  {num_proc} process{'es' if num_proc > 1 else '  '}"
            f"  wall {wall:6.2f} s ({len(corpus) / wall:7.0f} docs/s)"
            f"   CPU: parent {own:5.2f} s + workers {children:5.2f} s = {per_doc:5.1f} us/doc"
        )
    print(f"  2 vs 1 process (wall): {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
