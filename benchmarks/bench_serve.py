"""``biogpt-serve`` under load: requests/s and p50/p95 latency with batching off (``serve.max_batch_size=1``)
and on, in one run, against the same model and requests.

Each setting starts its own server (``python -m biogpt.serve`` on a free port of 127.0.0.1, as
``tests/test_serve.py`` does); ``--clients`` concurrent clients send ``--requests`` single-text requests
(real DDI test documents, cycled) after ``--warmup`` requests that are not timed. Every answer must be
200 and equal to the other setting's answer for the same text: batching changes the throughput, never
the answer. Latency is each request's time from send to answer.

    python benchmarks/bench_serve.py                         # the tests' tiny fine-tuned DDI model
    python benchmarks/bench_serve.py --ckpt outputs/ddi/<run>/final --max-batch-size 16
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from serve_process import Service, running_service  # noqa: E402

from biogpt.data.tasks import load_task_split, make_task_settings  # noqa: E402


def _timed(service: Service, text: str) -> tuple[float, int, Any]:
    start = time.perf_counter()
    answer = service.extract({"text": text})
    return time.perf_counter() - start, answer.status, answer.body


def load(service: Service, texts: list[str], clients: int) -> tuple[float, list[float], list[Any]]:
    """Wall seconds, each request's latency and each answer (in request order)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda text: _timed(service, text), texts))
    wall = time.perf_counter() - start
    statuses = {status for _, status, _ in results}
    if statuses != {200}:
        raise SystemExit(f"answers with status {sorted(statuses)}: expected all 200")
    return wall, [latency for latency, _, _ in results], [body for _, _, body in results]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ckpt", help="the model to serve (default: fine-tune the tests' tiny DDI model)")
    parser.add_argument(
        "--data-dir", default=os.environ.get("BIOGPT_DATA", str(TESTS.parents[1] / "shared" / "data"))
    )
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--warmup", type=int, default=16)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--documents", type=int, default=16, help="distinct DDI test documents, cycled")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    ckpt = args.ckpt
    if ckpt is None:
        from extraction_models import fine_tune_ddi

        ckpt = str(fine_tune_ddi(work / "model", data_dir, work / "token-cache"))
    examples = load_task_split(make_task_settings("ddi", data_dir=str(data_dir)), "test").examples
    documents = [example.source for example in examples[: args.documents]]
    texts = [documents[i % len(documents)] for i in range(args.requests)]
    common = [
        f"ckpt={ckpt}",
        f"data_dir={data_dir}",
        f"eval.generation.max_new_tokens={args.max_new_tokens}",
        f"eval.batch_size={args.max_batch_size}",
    ]
    rows: list[tuple[str, float, float, float, float]] = []
    answers: dict[str, list[Any]] = {}
    for name, batch_size in (
        ("max_batch_size=1", 1),
        (f"max_batch_size={args.max_batch_size}", args.max_batch_size),
    ):
        options = [*common, f"serve.max_batch_size={batch_size}", f"serve.batch_timeout={args.batch_timeout}"]
        with running_service(options, work / f"serve-{batch_size}.log") as service:
            load(service, texts[: args.warmup], args.clients)
            wall, latencies, answers[name] = load(service, texts, args.clients)
        rows.append((name, len(texts) / wall, percentile(latencies, 0.5), percentile(latencies, 0.95), wall))
        print(f"{name}: {len(texts)} requests in {wall:.1f} s", flush=True)
    first, second = answers.values()
    if first != second:
        wrong = sum(a != b for a, b in zip(first, second, strict=True))
        raise SystemExit(f"{wrong} answers differ between batching off and on")
    print(
        f"\n{len(texts)} requests, {args.clients} concurrent clients, {len(documents)} distinct DDI test "
        f"documents, max_new_tokens={args.max_new_tokens}; every answer 200 and equal in both settings\n"
    )
    print("| setting | requests/s | p50 latency (s) | p95 latency (s) | wall (s) |\n|---|---|---|---|---|")
    for name, throughput, p50, p95, wall in rows:
        print(f"| {name} | {throughput:.2f} | {p50:.3f} | {p95:.3f} | {wall:.1f} |")
    print(f"\nbatching on: {rows[1][1] / rows[0][1]:.2f}x the requests/s of max_batch_size=1")


if __name__ == "__main__":
    main()
