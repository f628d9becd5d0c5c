"""The tokenized-split cache under concurrent first use, as sweep jobs sharing ``data.cache_dir`` do."""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import datasets

from biogpt.data.tasks import make_task_settings
from biogpt.data.tokenized import tokenized_split
from biogpt.tokenizer import BioGPTTokenizer

TASK, SPLIT = "kd-dti", "valid"  # 1,000 abstracts: tokenizing takes long enough for the racers to overlap
RACERS = 2
# Safety nets only (the racers synchronise on a barrier): a hung process fails the test instead of
# hanging it.
BARRIER_TIMEOUT_S = 120.0
RESULT_TIMEOUT_S = 300.0
JOIN_TIMEOUT_S = 60.0


def _summary(dataset: datasets.Dataset) -> dict[str, Any]:
    """Everything two tokenizations of a split must agree on: every column and the column types."""
    return {"columns": dataset.to_dict(), "features": dataset.features.to_dict()}


def _race(data_dir: Path, vocab: Path, cache_dir: Path, start: Barrier, results: Queue) -> None:
    """One racer (a spawned process): set up, wait for the other racer, then tokenize into ``cache_dir``.

    Reports ``("ok", summary)`` or ``("error", traceback)``; ``summary["tokenized"]`` says whether this
    process encoded the split itself, which the cache should let only one racer do. A failure breaks
    the barrier, so the other racer fails at once rather than waiting out the timeout.
    """
    try:
        import biogpt.data.tokenized as tokenized

        encode = tokenized._encode_columns
        encoded_batches: list[int] = []

        def counting_encode(batch: dict[str, list[str]], tokenizer: BioGPTTokenizer) -> dict[str, Any]:
            encoded_batches.append(len(batch["source"]))
            return encode(batch, tokenizer)

        tokenized._encode_columns = counting_encode
        task = make_task_settings(TASK, data_dir=str(data_dir))
        tokenizer = BioGPTTokenizer.from_pretrained(vocab)
        start.wait()
        dataset = tokenized_split(task, SPLIT, tokenizer, cache_dir)
        summary = _summary(dataset)
        summary["files"] = [entry["filename"] for entry in dataset.cache_files]
        summary["tokenized"] = bool(encoded_batches)
        results.put(("ok", summary))
    except BaseException:
        start.abort()
        results.put(("error", traceback.format_exc()))


def test_concurrent_cold_cache(shared_data: Path, biogpt_vocab: Path, tmp_path: Path) -> None:
    """Racers on one cold cache all succeed, get the single-process result, and leave one whole file."""
    context = multiprocessing.get_context("spawn")
    cache_dir = tmp_path / "shared-cache"
    start = context.Barrier(RACERS, timeout=BARRIER_TIMEOUT_S)
    results = context.Queue()
    racers = [
        context.Process(target=_race, args=(shared_data, biogpt_vocab, cache_dir, start, results))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    try:
        outcomes = [results.get(timeout=RESULT_TIMEOUT_S) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=JOIN_TIMEOUT_S)
            if racer.is_alive():
                racer.kill()
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, "\n".join(errors)
    assert [racer.exitcode for racer in racers] == [0] * RACERS

    task = make_task_settings(TASK, data_dir=str(shared_data))
    tokenizer = BioGPTTokenizer.from_pretrained(biogpt_vocab)
    reference = tokenized_split(task, SPLIT, tokenizer, tmp_path / "reference-cache")
    published = cache_dir / Path(reference.cache_files[0]["filename"]).name  # same key, same name
    expected = _summary(reference)
    summaries = [detail for _, detail in outcomes]
    assert sum(summary["tokenized"] for summary in summaries) == 1, "the waiting racer tokenized again"
    for summary in summaries:
        assert summary["files"] == [str(published)]
        assert summary["columns"] == expected["columns"]
        assert summary["features"] == expected["features"]
    # The lock file may stay (flock locks do, by design); anything else, a temporary or a second arrow
    # file, is a leftover.
    left = {path.name for path in cache_dir.iterdir()} - {f"{published.name}.lock"}
    assert left == {published.name}
