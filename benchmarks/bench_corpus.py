"""Throughput and peak memory of the pre-training corpus pipeline: PubMed XML -> dataset -> packed blocks.

``python benchmarks/bench_corpus.py [--replicas 200] [--data ../shared/data]``

Two corpora:
* replicas of the real PubMed samples as a multi-file baseline (``pubmed25nNNNN.xml(.gz)``), every
  PMID renumbered so the replicas are distinct items, and every title tagged with its replica: this
  times XML parsing and the whole chain. Its texts repeat, so the tokenizer's chunk cache makes its
  tokenization faster than on real text;
* the task corpora's abstracts (BC5CDR, KD-DTI, DDI; ~5k distinct real abstracts): tokenize + pack
  throughput on text the cache has not seen, the figure to extrapolate from.

Packing is timed with 1 and 2 worker processes. Peak memory is the maximum resident set size of this
process and, separately, of the largest worker (``getrusage``).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from machine import describe_machine

from biogpt.data.pubmed.corpus import iter_documents, write_dataset
from biogpt.data.pubmed.packing import pack_corpus
from biogpt.data.pubmed.records import Citation
from biogpt.tokenizer import BioGPTTokenizer

ROOT = Path(__file__).resolve().parents[1]
TASK_CORPORA = ("BC5CDR/raw/train.json", "BC5CDR/raw/valid.json", "BC5CDR/raw/test.json")
TASK_CORPORA += ("KD-DTI/raw/valid.json", "KD-DTI/raw/test.json", "DDI/raw/train.json")
_PMID = re.compile(r'(<PMID Version="\d+">)\d+(</PMID>)')


def replicate_samples(samples: Path, out: Path, replicas: int) -> int:
    """Write ``replicas`` copies of each sample file with fresh PMIDs; returns the bytes written."""
    numbers = itertools.count(40_000_000)  # above today's PMIDs, as dense as real ones
    texts = {
        path: (gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()).decode()
        for path in sorted(samples.glob("*.xml*"))
    }
    written = 0
    for replica in range(replicas):
        for index, (path, text) in enumerate(texts.items()):
            text = _PMID.sub(lambda m: f"{m.group(1)}{next(numbers)}{m.group(2)}", text)
            data = text.replace("<ArticleTitle>", f"<ArticleTitle>Replica {replica}. ").encode()
            name = f"pubmed25n{replica * len(texts) + index:04d}.xml"
            target = out / (name + ".gz" if path.suffix == ".gz" else name)
            target.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
            written += len(data)
    return written


def task_abstracts(data: Path, out: Path) -> int:
    documents: dict[str, Citation] = {}
    for name in TASK_CORPORA:
        for key, record in json.loads((data / name).read_text()).items():
            documents.setdefault(key, Citation(key, record.get("title", ""), record["abstract"], None))
    return write_dataset(documents.values(), out)


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def time_packing(corpus: Path, out: Path, vocab: Path, documents: int, label: str) -> None:
    """Each run gets a fresh tokenizer: a chunk cache warmed by an earlier run would flatter it."""
    for num_proc in (1, 2):
        tokenizer = BioGPTTokenizer.from_pretrained(vocab)
        started = time.perf_counter()
        index = pack_corpus(corpus, out / f"{num_proc}", tokenizer, num_proc=num_proc)
        seconds = time.perf_counter() - started
        tokens = sum(s.tokens for s in index.splits.values())
        disk = sum(f.stat().st_size for f in (out / f"{num_proc}").iterdir())
        print(
            f"{label} tokenize+pack, {num_proc} process(es): {seconds:6.1f} s  "
            f"{documents / seconds:8.0f} docs/s  {tokens / seconds:9.0f} tokens/s  "
            f"({tokens / seconds / num_proc:8.0f} tokens/s per process)  {tokens:,} tokens, "
            f"{tokens / documents:.0f}/doc, {disk / 2**20:.1f} MiB on disk"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=200)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    print(describe_machine())
    vocab = args.data / "vocab" / "biogpt"
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        root = Path(tmp)
        (root / "xml").mkdir()
        xml_bytes = replicate_samples(args.data / "PubMed", root / "xml", args.replicas)
        started = time.perf_counter()
        documents = write_dataset(iter_documents([root / "xml"]), root / "pubmed")
        seconds = time.perf_counter() - started
        files = len(list((root / "xml").iterdir()))
        print(
            f"replicated samples: {files} files, {xml_bytes / 2**20:.1f} MiB XML, {documents:,} citations\n"
            f"XML parse + dataset, 1 process: {seconds:6.1f} s  {documents / seconds:8.0f} docs/s  "
            f"{xml_bytes / seconds / 2**20:.1f} MiB XML/s"
        )
        time_packing(root / "pubmed", root / "packed-pubmed", vocab, documents, "replicas")
        abstracts = task_abstracts(args.data, root / "tasks")
        time_packing(root / "tasks", root / "packed-tasks", vocab, abstracts, f"{abstracts:,} task abstracts")
    print(
        f"peak RSS: this process {peak_mib(resource.RUSAGE_SELF):.0f} MiB, "
        f"largest worker {peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
