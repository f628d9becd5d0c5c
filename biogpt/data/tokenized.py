"""Task splits as token ids, cached in Arrow files that concurrent jobs can share.

:func:`tokenized_split` renders one split of a task (see :mod:`biogpt.data.tasks`), tokenizes it and
caches the columns as ``<cache_dir>/<task>-<split>-<key>.arrow``, the key hashing the task settings,
the split and the tokenizer's fingerprint, so a sweep tokenizes each corpus once. Truncation and
prompt insertion are not cached: they depend on the prompt, which sweeps vary.

Concurrency. The jobs of a sweep (Hydra's launcher with several processes, SLURM array jobs) share
one cache directory and often start together on a cold cache. ``Dataset.map(cache_file_name=...)``
takes no lock: every job that finds the cache cold tokenizes the split again into the same file names,
and with ``num_proc`` a job reuses whichever of another job's per-worker shard files it happens to find
at that moment. So the cache is managed here:

- a reader only ever opens the published name, which appears by an atomic :func:`os.replace` of a
  complete, fsynced file: it sees the whole file or none (a job killed while writing leaves at most
  a hidden ``.tmp`` file, which no reader opens);
- the cold path runs under an exclusive lock on ``<file>.lock``: the first job tokenizes, the others
  wait and then read its file instead of redoing the work. ``filelock`` locks with ``flock``, which the
  kernel releases when its holder dies, so a killed job leaves no stale lock; the lock file stays
  behind (deleting it would let a waiter and a newcomer hold locks on two different inodes);
- every writer's temporary file has its own name, so on a filesystem without working locks jobs only
  duplicate the work, they never write into one file.

A published file is never rewritten: the key changes whenever anything that goes into it does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import asdict
from pathlib import Path

import datasets
import pyarrow as pa
from datasets.arrow_writer import ArrowWriter
from filelock import FileLock

from biogpt.data.tasks import TaskSettings, load_task_split
from biogpt.errors import DataFileError
from biogpt.tokenizer.protocol import Tokenizer

logger = logging.getLogger(__name__)


def tokenized_split(
    task: TaskSettings, split: str, tokenizer: Tokenizer, cache_dir: Path, num_proc: int | None = None
) -> datasets.Dataset:
    """Columns ``id``, ``source``, ``target``, ``source_ids``, ``target_ids`` of one split, cached.

    Safe for concurrent callers on one ``cache_dir`` (see the module docstring): at most one process
    tokenizes a given split at a time, and the others read its published file. The raw split is read
    on every call, warm cache included, so that each run logs the records it skips or drops.
    ``num_proc`` worker processes tokenize a cold split (None: this process).
    """
    task_split = load_task_split(task, split)
    if task_split.skipped:
        logger.warning(
            "%s/%s: %d malformed records skipped: %s",
            task.name,
            split,
            len(task_split.skipped),
            "; ".join(f"{r.record_id}: {r.reason}" for r in task_split.skipped[:5]),
        )
    if task_split.dropped:
        logger.info(
            "%s/%s: %d documents without relations dropped (as released)",
            task.name,
            split,
            len(task_split.dropped),
        )
    examples = task_split.examples
    if not examples:
        raise DataFileError(f"{task.name}/{split}: the task's files under {task.data_dir} hold no example")
    # The examples themselves are in the key: a custom corpus (task=custom) is the user's to edit, and
    # its settings name only its paths.
    content = hashlib.sha256(json.dumps([[e.id, e.source, e.target] for e in examples]).encode()).hexdigest()
    key = json.dumps([asdict(task), split, tokenizer.fingerprint(), content], sort_keys=True, default=str)
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_dir / f"{task.name}-{split}-{fingerprint}.arrow"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(path.with_name(f"{path.name}.lock")):
            # Another job may have published the file while this one waited for the lock.
            if not path.exists():
                table = datasets.Dataset.from_dict(
                    {
                        "id": [e.id for e in examples],
                        "source": [e.source for e in examples],
                        "target": [e.target for e in examples],
                    }
                )
                encoded = table.map(
                    _encode_columns,
                    batched=True,
                    fn_kwargs={"tokenizer": tokenizer},
                    num_proc=num_proc,
                    keep_in_memory=True,
                    new_fingerprint=fingerprint,
                    desc=f"tokenizing {task.name}/{split}",
                )
                _publish(encoded, path)
    return datasets.Dataset.from_file(str(path))


def _encode_columns(batch: dict[str, list[str]], tokenizer: Tokenizer) -> dict[str, list[list[int]]]:
    return {
        "source_ids": tokenizer.encode_batch(batch["source"]),
        "target_ids": tokenizer.encode_batch(batch["target"]),
    }


def _publish(dataset: datasets.Dataset, path: Path) -> None:
    """Write ``dataset`` (in memory, without an indices mapping) to ``path`` in one atomic step.

    The bytes go to a temporary file of its own name in the same directory (the rename must not cross
    filesystems), are fsynced (else a crash after the rename could publish an empty file) and only
    then renamed to ``path``. The ``.tmp`` suffix keeps half-written files out of ``*.arrow`` globs.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as sink:
            writer = ArrowWriter(features=dataset.features, stream=pa.PythonFile(sink, mode="w"))
            writer.write_table(dataset.data.table)
            writer.finalize(close_stream=False)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
