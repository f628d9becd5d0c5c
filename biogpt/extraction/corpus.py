"""A model run over a corpus: extraction shards, the knowledge graph of their triples, a summary.

Layout of ``out/``:

* ``extractions/rank<R>-<K>.parquet`` (``format=jsonl``: ``.jsonl``): rank R's K-th shard, one row per
  document in the rank's input order: ``id``, ``position`` (the document's place in the input),
  ``generated``, ``parse_failed``, ``truncated``, ``label``, ``generated_tokens`` and ``relations``
  (``head``, ``type``, ``tail``, ``head_span``, ``tail_span``: character offsets, null where not found);
* ``manifest/rank<R>-<K>.json``: the documents the shard covers (ids), the records skipped so far with
  their reasons, the seconds and tokens it took, and whether it is the rank's last (``final``);
* ``run.json``: what the run applies (model, task, decoding, input, layout of shards), checked when a
  run is started again in the same directory;
* ``triples.parquet``, ``triples.tsv``: one row per distinct (head, type, tail) after case and
  whitespace folding, with the number of documents stating it and up to ``support`` of their ids (the
  first in input order);
* ``summary.json``: documents, skipped records by reason, documents with a relation, parse failures,
  relations per type, throughput, wall time.

Throughput: each shard's documents are extracted in windows of ``window`` documents, which the engine
sorts by length into batches (so a batch pads little), while rows keep the input order. Faults: a
shard and then its manifest are each written to a temporary file, synced and renamed, so a manifest
names a complete shard; a run killed at any point and started again skips the documents its manifests
cover (checking that the input gives the same ids) and ends with the files of an uninterrupted run.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from biogpt.errors import ConfigError
from biogpt.extraction.engine import Extraction, ExtractionSettings, Extractor
from biogpt.extraction.inputs import Document, InputSettings, read_input

logger = logging.getLogger(__name__)

SHARD_FORMATS: tuple[str, ...] = ("parquet", "jsonl")
EXTRACTIONS_DIR = "extractions"
MANIFEST_DIR = "manifest"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
TRIPLES_TSV = "triples.tsv"
TRIPLES_PARQUET = "triples.parquet"

_SPAN = pa.list_(pa.int64())
_RELATION = pa.struct(
    [
        ("head", pa.string()),
        ("type", pa.string()),
        ("tail", pa.string()),
        ("head_span", _SPAN),
        ("tail_span", _SPAN),
    ]
)
EXTRACTION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("position", pa.int64()),
        ("generated", pa.string()),
        ("parse_failed", pa.bool_()),
        ("truncated", pa.bool_()),
        ("label", pa.string()),
        ("generated_tokens", pa.int64()),
        ("relations", pa.list_(_RELATION)),
    ]
)
TRIPLE_SCHEMA = pa.schema(
    [
        ("head", pa.string()),
        ("type", pa.string()),
        ("tail", pa.string()),
        ("documents", pa.int64()),
        ("support", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class CorpusSettings:
    """Where the run reads and writes and how it groups documents.

    ``window``: documents extracted together (sorted by length into ``eval.batch_size`` batches);
    ``shard_size``: documents per shard (what a restart may redo at most, per rank); ``format``:
    ``parquet`` or ``jsonl`` shards; ``support``: document ids kept per triple; ``progress``: a bar
    with documents/s and the time left (on the first process).
    """

    out: str
    input: InputSettings
    format: str = "parquet"
    window: int = 1024
    shard_size: int = 4096
    support: int = 5
    progress: bool = True

    def __post_init__(self) -> None:
        if self.format not in SHARD_FORMATS:
            raise ValueError(f"format={self.format!r}: expected one of {', '.join(SHARD_FORMATS)}")
        for name in ("window", "shard_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected a positive number of documents")
        if self.support < 0:
            raise ValueError(f"support={self.support}: expected a number of document ids, 0 or more")


def _publish(path: Path, write: Any) -> None:
    """Write a file atomically: ``write(temporary path)``, sync, rename onto ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one per process: ranks may race
    write(temporary)
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_text(path: Path, text: str) -> None:
    _publish(path, lambda target: target.write_text(text, encoding="utf-8"))


def extraction_row(extraction: Extraction, position: int) -> dict[str, Any]:
    """One shard row (a JSONL line) of an extraction."""
    return {
        "id": extraction.id,
        "position": position,
        "generated": extraction.generated,
        "parse_failed": extraction.parse_failed,
        "truncated": extraction.truncated,
        "label": extraction.label,
        "generated_tokens": extraction.generated_tokens,
        "relations": [
            {
                "head": r.head,
                "type": r.type,
                "tail": r.tail,
                "head_span": None if r.head_span is None else list(r.head_span),
                "tail_span": None if r.tail_span is None else list(r.tail_span),
            }
            for r in extraction.relations
        ],
    }


def _shard_name(rank: int, index: int) -> str:
    return f"rank{rank:05d}-{index:06d}"


def _write_shard(directory: Path, name: str, fmt: str, rows: list[dict[str, Any]]) -> None:
    path = directory / f"{name}.{fmt}"
    if fmt == "parquet":
        table = pa.Table.from_pylist(rows, schema=EXTRACTION_SCHEMA)
        _publish(path, lambda target: pq.write_table(table, str(target)))
    else:
        _write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def read_shard(path: Path) -> list[dict[str, Any]]:
    """The rows of one shard (Parquet or JSONL)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _manifests(out: Path, rank: int) -> list[dict[str, Any]]:
    """Rank ``rank``'s shard manifests, in shard order, up to the first missing one."""
    found = []
    while (path := out / MANIFEST_DIR / f"{_shard_name(rank, len(found))}.json").is_file():
        found.append(json.loads(path.read_text(encoding="utf-8")))
    return found


def check_run_record(out: Path, record: dict[str, Any]) -> None:
    """Record what this run applies in ``out/run.json``, or check that a run started before in ``out``
    applied the same (a restart must not mix models, inputs or shard layouts)."""
    path = out / RUN_FILE
    record = json.loads(json.dumps(record))  # as read back: tuples as lists
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(key for key in set(before) | set(record) if before.get(key) != record.get(key))
        if changed:
            raise ConfigError(
                f"{out} holds a run with other settings ({', '.join(changed)}): continue it with the same "
                "command, or write to another out="
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    _write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def _progress(total: int | None, done: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="doc", desc="extracting", disable=not enabled, smoothing=0.1)


def _resumed(documents: Iterator[Document], manifests: list[dict[str, Any]], out: Path) -> int:
    """Skip the documents the manifests cover, checking they are the same; returns how many."""
    covered = [document_id for manifest in manifests for document_id in manifest["ids"]]
    for expected in covered:
        document = next(documents, None)
        if document is None or document.id != expected:
            found = "the end of the input" if document is None else f"document {document.id!r}"
            raise ConfigError(
                f"{out}: the manifests cover document {expected!r} where the input now gives {found}: the "
                "input changed since the run started; write to another out="
            )
    return len(covered)


def extract_rank(extractor: Extractor, settings: CorpusSettings, rank: int = 0, world: int = 1) -> int:
    """Extract rank ``rank``'s share of the input into its shards (continuing where its manifests end);
    returns the number of documents extracted now. Shows a progress bar on rank 0."""
    out = Path(settings.out)
    for directory in (EXTRACTIONS_DIR, MANIFEST_DIR):
        (out / directory).mkdir(parents=True, exist_ok=True)
    manifests = _manifests(out, rank)
    if manifests and manifests[-1]["final"]:
        logger.info("rank %d: all %d shards were written before", rank, len(manifests))
        return 0
    task = extractor.task.task
    stream = read_input(settings.input, rank, world, task=task if task.name == "custom" else None)
    documents = stream.documents
    done = _resumed(documents, manifests, out)
    if done:
        logger.info("rank %d: %d documents in %d shards were extracted before", rank, done, len(manifests))
    bar = None
    extracted = 0
    index = len(manifests)
    while True:
        shard = list(_take(documents, settings.shard_size))
        if bar is None:
            bar = _progress(stream.total, done, settings.progress and rank == 0)
        rows, seconds, tokens = [], 0.0, 0
        for start in range(0, len(shard), settings.window):
            window = shard[start : start + settings.window]
            began = time.perf_counter()
            extractions = extractor.extract([d.text for d in window], [d.id for d in window])
            seconds += time.perf_counter() - began
            tokens += sum(x.generated_tokens for x in extractions)
            rows.extend(extraction_row(x, d.position) for x, d in zip(extractions, window, strict=True))
            bar.update(len(window))
        final = len(shard) < settings.shard_size
        name = _shard_name(rank, index)
        _write_shard(out / EXTRACTIONS_DIR, name, settings.format, rows)
        manifest = {
            "rank": rank,
            "world": world,
            "shard": index,
            "file": f"{EXTRACTIONS_DIR}/{name}.{settings.format}",
            "documents": len(shard),
            "ids": [d.id for d in shard],
            "skipped": dict(stream.skipped),
            "seconds": seconds,
            "generated_tokens": tokens,
            "final": final,
        }
        _write_text(out / MANIFEST_DIR / f"{name}.json", json.dumps(manifest, ensure_ascii=False) + "\n")
        extracted += len(shard)
        index += 1
        if final:
            break
    bar.close()
    return extracted


def _take(documents: Iterator[Document], count: int) -> Iterator[Document]:
    for _ in range(count):
        document = next(documents, None)
        if document is None:
            return
        yield document


def fold(text: str) -> str:
    """A name as the knowledge graph keys it: lower case, whitespace runs as one space, stripped."""
    return " ".join(text.lower().split())


@dataclass
class _Triple:
    documents: int = 0
    support: list[tuple[int, str]] | None = None  # a max-heap (negated positions) of the first ids


def finished_manifests(out: Path, world: int) -> list[dict[str, Any]]:
    """Every rank's manifests, rank by rank; an error when a rank has not finished."""
    everything = []
    for rank in range(world):
        manifests = _manifests(out, rank)
        if not manifests or not manifests[-1]["final"]:
            raise ConfigError(f"{out}: rank {rank} of {world} has not finished; run the same command again")
        if any(manifest["world"] != world for manifest in manifests):
            raise ConfigError(f"{out}: shards written by a run of another number of processes than {world}")
        everything.extend(manifests)
    return everything


def write_results(settings: CorpusSettings, world: int, wall_seconds: float) -> dict[str, Any]:
    """Join every rank's shards into ``triples.parquet``/``triples.tsv`` and ``summary.json``;
    returns the summary."""
    out = Path(settings.out)
    manifests = finished_manifests(out, world)
    triples: dict[tuple[str, str, str], _Triple] = {}
    per_type: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    counts = Counter(documents=0, with_relations=0, parse_failures=0, truncated=0, relations=0)
    for manifest in manifests:
        if manifest["final"]:
            skipped.update(manifest["skipped"])
        for row in read_shard(out / manifest["file"]):
            counts["documents"] += 1
            counts["with_relations"] += bool(row["relations"])
            counts["parse_failures"] += row["parse_failed"]
            counts["truncated"] += row["truncated"]
            counts["relations"] += len(row["relations"])
            if row["label"] is not None:
                labels[row["label"]] += 1
            stated = set()
            for relation in row["relations"]:
                per_type[relation["type"]] += 1
                stated.add((fold(relation["head"]), fold(relation["type"]), fold(relation["tail"])))
            for key in stated:
                _support(triples.setdefault(key, _Triple()), row["position"], row["id"], settings.support)
    rows = _triple_rows(triples)
    _write_triples(out, rows)
    seconds = [sum(m["seconds"] for m in manifests if m["rank"] == rank) for rank in range(world)]
    tokens = sum(m["generated_tokens"] for m in manifests)
    busiest = max(seconds)
    summary = {
        "documents": counts["documents"],
        "skipped": sum(skipped.values()),
        "skipped_by_reason": dict(sorted(skipped.items())),
        "with_relations": counts["with_relations"],
        "parse_failures": counts["parse_failures"],
        "truncated": counts["truncated"],
        "relations": counts["relations"],
        "relations_per_type": dict(sorted(per_type.items())),
        "labels": dict(sorted(labels.items())),
        "triples": len(rows),
        "generated_tokens": tokens,
        "processes": world,
        "extraction_seconds": busiest,
        "documents_per_second": counts["documents"] / busiest if busiest else 0.0,
        "generated_tokens_per_second": tokens / busiest if busiest else 0.0,
        "wall_seconds": wall_seconds,
    }
    _write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def _support(triple: _Triple, position: int, document_id: str, limit: int) -> None:
    """Count a document stating the triple, keeping the ids of the ``limit`` first in input order."""
    triple.documents += 1
    heap = triple.support if triple.support is not None else []
    triple.support = heap
    if limit == 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, (-position, document_id))
    elif -heap[0][0] > position:
        heapq.heapreplace(heap, (-position, document_id))


def _triple_rows(triples: dict[tuple[str, str, str], _Triple]) -> list[dict[str, Any]]:
    rows = [
        {
            "head": head,
            "type": relation_type,
            "tail": tail,
            "documents": triple.documents,
            "support": [document_id for _, document_id in sorted(triple.support or [], reverse=True)],
        }
        for (head, relation_type, tail), triple in triples.items()
    ]
    rows.sort(key=lambda row: (-row["documents"], row["head"], row["type"], row["tail"]))
    return rows


def _write_triples(out: Path, rows: Sequence[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(list(rows), schema=TRIPLE_SCHEMA)
    _publish(out / TRIPLES_PARQUET, lambda target: pq.write_table(table, str(target)))
    lines = ["head\ttype\ttail\tdocuments\tsupport\n"]
    lines += [
        f"{r['head']}\t{r['type']}\t{r['tail']}\t{r['documents']}\t{','.join(r['support'])}\n" for r in rows
    ]
    _write_text(out / TRIPLES_TSV, "".join(lines))


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as the aligned table the command prints."""
    lines = [
        ("documents", summary["documents"]),
        ("skipped", summary["skipped"]),
        *((f"  {reason}", count) for reason, count in summary["skipped_by_reason"].items()),
        ("with a relation", summary["with_relations"]),
        ("parse failures", summary["parse_failures"]),
        ("truncated", summary["truncated"]),
        ("relations", summary["relations"]),
        *((f"  {kind}", count) for kind, count in summary["relations_per_type"].items()),
        *((f"label {label}", count) for label, count in summary["labels"].items()),
        ("distinct triples", summary["triples"]),
        ("documents/s", f"{summary['documents_per_second']:.2f}"),
        ("generated tokens/s", f"{summary['generated_tokens_per_second']:.1f}"),
        ("processes", summary["processes"]),
        ("wall time (s)", f"{summary['wall_seconds']:.1f}"),
    ]
    width = max(len(name) for name, _ in lines)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in lines)


def run_record(extractor: Extractor, settings: CorpusSettings, world: int) -> dict[str, Any]:
    """What ``run.json`` records of a run: the model and task applied, decoding, input and shards."""
    described = extractor.describe()
    return {
        "model": described["model"],
        "task": asdict(extractor.task.task),
        "layout": asdict(extractor.task.layout),
        "relation_types": list(extractor.task.relation_types),
        "prompt": described["prompt"],
        "generation": asdict(extractor.settings.generation),
        "dtype": extractor.settings.dtype,
        "batch_size": extractor.settings.batch_size,
        "input": asdict(settings.input),
        "format": settings.format,
        "window": settings.window,
        "shard_size": settings.shard_size,
        "processes": world,
    }


def run_rank(extraction: ExtractionSettings, settings: CorpusSettings, rank: int = 0, world: int = 1) -> int:
    """One process's part of a run: load the model, record (or check) the run, extract its share."""
    extractor = Extractor.load(extraction)
    logger.info("rank %d of %d: %s", rank, world, extractor.describe())
    check_run_record(Path(settings.out), run_record(extractor, settings, world))
    return extract_rank(extractor, settings, rank, world)
