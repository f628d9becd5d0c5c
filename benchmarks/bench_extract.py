"""Extraction throughput: ``biogpt-extract``'s engine against a straightforward ``transformers`` loop.

Same random weights (the ``biogpt`` shape unless ``--layers`` says otherwise) saved as a model directory
that records a KD-DTI task (``task.json``, no prompt), the same real abstracts (the PubMed XML samples
under ``<data>/PubMed``, read as ``biogpt-extract`` reads them, then KD-DTI test abstracts, which are
PubMed abstracts too, up to ``--documents``), the same prefixes (each abstract's source as the engine
builds it, ``[</s>; source]``, cut at ``--max-source`` tokens), greedy, at most ``--new-tokens``
tokens, ``</s>`` ending a row on both sides.

* ours: :meth:`Extractor.extract` over all documents (sorted by length into batches of the batch size,
  generated with our KV-cached decoder, parsed, arguments located);
* transformers: ``BioGptForCausalLM.generate`` (sdpa) over batches of the same size in input order,
  left-padded, then decoded with the same tokenizer.

Every run's generated texts are checked against the first run's (greedy texts do not depend on the
batch size), then documents/s at each side's best batch size are compared (the goal on CPU: at least
2x). Each side has its own batch sizes (``--batch-sizes`` for ours, ``--transformers-batch-sizes``):
our preallocated KV cache and length-sorted batches make large batches pay, while ``transformers``'
cache grows by concatenation and its batches in input order pad more as they grow.

Each side's seconds are split into prefill, decode steps and the rest (:class:`PhaseClock`). Measured
(quiet 2-core AVX-512 EPYC, 256 documents): ours 0.474 documents/s at batch 32, ``transformers`` 0.168
at batch 4 and 0.203 at 8, 2.33x; that run takes about 55 minutes, ``--documents 32`` a few.

    python benchmarks/bench_extract.py --batch-sizes 32 --transformers-batch-sizes 4 8   # 256 documents
    python benchmarks/bench_extract.py --layers 2 --documents 32 --new-tokens 8 --batch-sizes 2 8
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from machine import describe_machine

from biogpt.artifacts.task_record import TaskRecord, write_task_record
from biogpt.data.tasks import make_task_settings
from biogpt.extraction import ExtractionSettings, Extractor
from biogpt.extraction.inputs import InputSettings, read_input
from biogpt.generation import GenerationSettings
from biogpt.prompts import LayoutSettings
from biogpt.tokenizer import BioGPTTokenizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def abstracts(data: Path, count: int) -> tuple[list[str], str]:
    """``count`` real abstracts (title and abstract) and where they came from: the PubMed XML samples,
    then KD-DTI test documents."""
    texts = [document.text for document in read_input(InputSettings(str(data / "PubMed"))).documents]
    from_pubmed = len(texts[:count])
    records = json.loads((data / "KD-DTI" / "raw" / "test.json").read_text())
    for record in records.values():
        if len(texts) >= count:
            break
        separator = " " if record["title"].endswith((".", "?", "!")) else ". "
        texts.append(record["title"] + separator + record["abstract"])
    texts = texts[:count]
    return texts, f"{from_pubmed} from PubMed/*.xml*, {len(texts) - from_pubmed} from KD-DTI/raw/test.json"


def model_directory(directory: Path, data: Path, layers: int, max_source: int) -> Path:
    """A random-weight ``biogpt``-shape model directory (``layers`` decoder layers) with the released
    tokenizer and a KD-DTI task record: what a fine-tuning run's ``final/`` holds."""
    from transformers import BioGptConfig, BioGptForCausalLM

    torch.manual_seed(0)
    BioGptForCausalLM(BioGptConfig(num_hidden_layers=layers)).save_pretrained(directory)
    BioGPTTokenizer.from_pretrained(data / "vocab" / "biogpt").save_pretrained(directory)
    task = make_task_settings("kd-dti", data_dir=str(data))
    write_task_record(directory, TaskRecord(task, LayoutSettings(max_source_positions=max_source)))
    return directory


@dataclass
class Sides:
    """The two ways of running the same extraction at one batch size."""

    extractor: Extractor
    reference: torch.nn.Module
    texts: list[str]
    new_tokens: int

    def ours(self, batch_size: int) -> list[str]:
        generation = GenerationSettings(max_new_tokens=self.new_tokens)
        self.extractor.settings = _with_batch_size(self.extractor.settings, batch_size)
        return [x.generated for x in self.extractor.extract(self.texts, generation=generation)]

    def transformers(self, batch_size: int) -> list[str]:
        """``generate`` over batches in input order, each left-padded to its longest prefix."""
        tokenizer = self.extractor.generator.tokenizer
        layout = self.extractor.layout
        prefixes = [layout.prefix(ids) for ids in self.extractor.sources(self.texts)]
        device = next(self.reference.parameters()).device
        texts = []
        for start in range(0, len(prefixes), batch_size):
            rows = prefixes[start : start + batch_size]
            width = max(len(row) for row in rows)
            ids = torch.tensor([[tokenizer.pad_id] * (width - len(r)) + r for r in rows], device=device)
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
            with torch.no_grad():
                output = self.reference.generate(
                    ids,
                    attention_mask=mask,
                    do_sample=False,
                    num_beams=1,
                    max_new_tokens=self.new_tokens,
                    pad_token_id=tokenizer.pad_id,
                    eos_token_id=tokenizer.eos_id,
                )
            for row in output[:, width:].tolist():
                ended = row.index(tokenizer.eos_id) if tokenizer.eos_id in row else len(row)
                texts.append(tokenizer.decode(row[:ended]))
        return texts


def _with_batch_size(settings: ExtractionSettings, batch_size: int) -> ExtractionSettings:
    from dataclasses import replace

    return replace(settings, batch_size=batch_size)


def load_sides(
    directory: Path, data: Path, texts: list[str], new_tokens: int, device: str, dtype: str = "fp32"
) -> Sides:
    from transformers import BioGptForCausalLM

    settings = ExtractionSettings(ckpt=str(directory), vocab_root=data / "vocab", dtype=dtype)
    extractor = Extractor.load(settings)
    torch_dtype = next(extractor.generator.model.parameters()).dtype
    reference = BioGptForCausalLM.from_pretrained(
        directory, attn_implementation="sdpa", torch_dtype=torch_dtype
    )
    return Sides(extractor, reference.to(device).eval(), texts, new_tokens)


class PhaseClock:
    """Seconds spent in each side's prefill forwards (the prefixes), decode-step forwards (one token per
    row) and everything else (padding, scoring, decoding to text, parsing, locating arguments), from
    wrappers around our backbone's decoding calls and ``transformers``' forward (``functools.wraps``
    keeps the forward's signature, which ``generate`` inspects for ``logits_to_keep``)."""

    def __init__(self, sides: Sides, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.seconds: dict[str, float] = {}
        model = sides.extractor.generator.model
        model.begin_decoding = self._timed(model.begin_decoding, lambda *a, **k: "prefill")
        model.continue_decoding = self._timed(model.continue_decoding, lambda *a, **k: "decode")
        forward = sides.reference.forward

        def phase(*args, **kwargs) -> str:
            ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
            return "prefill" if ids.shape[1] > 1 else "decode"

        sides.reference.forward = self._timed(forward, phase)
        self._wrapped = [
            (model, "begin_decoding"),
            (model, "continue_decoding"),
            (sides.reference, "forward"),
        ]

    def close(self) -> None:
        """Unwrap: the instances' own attributes go, their classes' methods show again."""
        for owner, name in self._wrapped:
            delattr(owner, name)

    def _timed(self, call: Callable, phase: Callable[..., str]) -> Callable:
        @functools.wraps(call)
        def wrapper(*args, **kwargs):
            self.sync()
            started = time.perf_counter()
            result = call(*args, **kwargs)
            self.sync()
            name = phase(*args, **kwargs)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            return result

        return wrapper

    def run(self, side: Callable[[], list[str]]) -> tuple[list[str], dict[str, float]]:
        """The texts of one run and its seconds: total, prefill, decode and the rest."""
        self.seconds = {"prefill": 0.0, "decode": 0.0}
        self.sync()
        started = time.perf_counter()
        texts = side()
        self.sync()
        total = time.perf_counter() - started
        phases = dict(self.seconds, total=total)
        phases["rest"] = total - phases["prefill"] - phases["decode"]
        return texts, phases


def compare(
    sides: Sides,
    batch_sizes: list[int],
    repeats: int,
    sync: Callable[[], None],
    transformers_repeats: int | None = None,
    transformers_batch_sizes: list[int] | None = None,
) -> dict:
    """Documents/s and generated tokens/s of each side at each of its batch sizes (``batch_sizes`` for
    ours, ``transformers_batch_sizes`` for ``transformers``, default the same), and the ratio of the two
    sides' best, with every run's generated texts compared with the first run's (greedy texts do not
    depend on the batch size).

    Runs are interleaved (every batch size of both sides, then again), so a load that comes and goes on
    a shared machine falls on both sides; each figure is the median of ``repeats`` runs
    (``transformers_repeats`` for the slower side, default the same). A short run of each side on two
    documents warms the kernels up first. Each row also splits the median run's seconds into prefill,
    decode steps and the rest (see :class:`PhaseClock`); a side not run at a row's batch size has None
    there."""
    tokenizer = sides.extractor.generator.tokenizer
    plan = {
        "ours": (batch_sizes, repeats),
        "transformers": (
            transformers_batch_sizes or batch_sizes,
            repeats if transformers_repeats is None else transformers_repeats,
        ),
    }
    clock = PhaseClock(sides, sync)
    try:
        runs, texts = _interleaved_runs(sides, clock, plan)
    finally:
        clock.close()
    reference = next(iter(texts.values()))
    tokens = sum(len(tokenizer.encode(text)) + 1 for text in reference)  # with the </s>, roughly
    rows = []
    for batch_size in sorted({size for sizes, _ in plan.values() for size in sizes}):
        row: dict = {"batch_size": batch_size, "documents": len(reference)}
        for side in plan:
            median = _median_run(runs[side, batch_size]) if (side, batch_size) in runs else None
            row[f"{side}_docs_per_s"] = None if median is None else len(reference) / median["total"]
            row[f"{side}_tokens_per_s"] = None if median is None else tokens / median["total"]
            row[f"{side}_seconds"] = median
            generated = texts.get((side, batch_size))
            row[f"{side}_identical_texts"] = (
                None if generated is None else sum(a == b for a, b in zip(generated, reference, strict=True))
            )
        rows.append(row)
    best = {
        side: max(
            (row for row in rows if row[f"{side}_docs_per_s"] is not None),
            key=lambda r: r[f"{side}_docs_per_s"],
        )
        for side in plan
    }
    return {
        "rows": rows,
        "best_ours": best["ours"],
        "best_transformers": best["transformers"],
        "speedup": best["ours"]["ours_docs_per_s"] / best["transformers"]["transformers_docs_per_s"],
        "all_identical": all(generated == reference for generated in texts.values()),
    }


def _interleaved_runs(
    sides: Sides, clock: PhaseClock, plan: dict[str, tuple[list[int], int]]
) -> tuple[dict[tuple[str, int], list[dict[str, float]]], dict[tuple[str, int], list[str]]]:
    """Each side's runs at each of its batch sizes (the phases of every run, the texts of the first),
    after a warm-up on two documents, interleaved: every batch size of both sides, then again."""
    warm_up = Sides(sides.extractor, sides.reference, sides.texts[:2], sides.new_tokens)
    for side, (sizes, _) in plan.items():
        getattr(warm_up, side)(sizes[0])
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    texts: dict[tuple[str, int], list[str]] = {}
    for repeat in range(max(count for _, count in plan.values())):
        for batch_size in sorted({size for sizes, _ in plan.values() for size in sizes}):
            for side, (sizes, count) in plan.items():
                if repeat < count and batch_size in sizes:
                    generated, phases = clock.run(lambda s=side, b=batch_size: getattr(sides, s)(b))
                    texts.setdefault((side, batch_size), generated)
                    runs.setdefault((side, batch_size), []).append(phases)
    return runs, texts


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median total time (its phases add up, unlike per-phase medians)."""
    return sorted(runs, key=lambda run: run["total"])[(len(runs) - 1) // 2]


def print_comparison(result: dict) -> None:
    for row in result["rows"]:
        print(f"  batch {row['batch_size']:3d}  ({row['documents']} documents)")
        for side in ("ours", "transformers"):
            seconds = row[f"{side}_seconds"]
            if seconds is None:
                continue
            rate, tokens = row[f"{side}_docs_per_s"], row[f"{side}_tokens_per_s"]
            identical = f"{row[f'{side}_identical_texts']}/{row['documents']}"
            phases = (
                f"{seconds['total']:8.2f} s = prefill {seconds['prefill']:8.2f} "
                f"+ decode steps {seconds['decode']:8.2f} + rest {seconds['rest']:6.2f}"
            )
            print(
                f"      {side:12s} {rate:8.3f} docs/s ({tokens:7.1f} generated tokens/s)  {phases}  "
                f"texts identical {identical}"
            )
    ours, theirs = result["best_ours"], result["best_transformers"]
    print(
        f"  best: ours {ours['ours_docs_per_s']:.3f} docs/s (batch {ours['batch_size']}), transformers "
        f"{theirs['transformers_docs_per_s']:.3f} docs/s (batch {theirs['batch_size']}): "
        f"{result['speedup']:.2f}x (goal on CPU: 2x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--documents", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--max-source", type=int, default=512)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 32])
    parser.add_argument(
        "--transformers-batch-sizes",
        type=int,
        nargs="+",
        help="the transformers side's (default: --batch-sizes)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side (median)")
    parser.add_argument(
        "--transformers-repeats", type=int, help="runs of the transformers side (default: --repeats)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    texts, origin = abstracts(args.data, args.documents)
    print(
        f"extraction, biogpt shape with {args.layers} layers (random weights), {len(texts)} abstracts "
        f"({origin}), sources cut at {args.max_source} tokens, greedy, at most {args.new_tokens} new "
        f"tokens, {args.threads} threads, medians of {args.repeats} runs "
        f"({args.transformers_repeats or args.repeats} of transformers), interleaved"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = model_directory(Path(directory), args.data, args.layers, args.max_source)
        sides = load_sides(path, args.data, texts, args.new_tokens, "cpu")
    result = compare(
        sides,
        args.batch_sizes,
        args.repeats,
        lambda: None,
        args.transformers_repeats,
        args.transformers_batch_sizes,
    )
    print_comparison(result)
    if not result["all_identical"]:
        raise SystemExit("the two sides generated different texts: the timings compare other work")


if __name__ == "__main__":
    main()
