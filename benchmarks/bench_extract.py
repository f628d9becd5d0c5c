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

The generated texts are checked to be identical, then each side runs at each batch size and
documents/s at each side's best batch size are compared (the goal on CPU: at least 2x).

    python benchmarks/bench_extract.py                          # 256 documents, biogpt shape
    python benchmarks/bench_extract.py --layers 2 --documents 32 --new-tokens 8 --batch-sizes 1 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from machine import describe_machine

from biogpt.artifacts.task_record import TaskRecord, write_task_record
from biogpt.data.tasks import make_task_config
from biogpt.extraction import ExtractionSettings, Extractor
from biogpt.extraction.inputs import InputSettings, read_input
from biogpt.generation import GenerationConfig
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
    task = make_task_config("kd-dti", data_dir=str(data))
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
        generation = GenerationConfig(max_new_tokens=self.new_tokens)
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


def timed(run: Callable[[], object], sync: Callable[[], None], repeats: int) -> float:
    """The median seconds of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        sync()
        started = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(sides: Sides, batch_sizes: list[int], repeats: int, sync: Callable[[], None]) -> dict:
    """Identical texts at every batch size (also the warm-up), then documents/s and generated tokens/s
    of each side at each batch size, and the ratio of the two sides' best."""
    tokenizer = sides.extractor.generator.tokenizer
    rows = []
    for batch_size in batch_sizes:
        ours, theirs = sides.ours(batch_size), sides.transformers(batch_size)
        identical = sum(a == b for a, b in zip(ours, theirs, strict=True))
        tokens = sum(len(tokenizer.encode(text)) + 1 for text in ours)  # with the </s>, roughly
        seconds = {
            "ours": timed(lambda b=batch_size: sides.ours(b), sync, repeats),
            "transformers": timed(lambda b=batch_size: sides.transformers(b), sync, repeats),
        }
        rows.append(
            {
                "batch_size": batch_size,
                "identical_texts": identical,
                "documents": len(ours),
                "ours_docs_per_s": len(ours) / seconds["ours"],
                "transformers_docs_per_s": len(ours) / seconds["transformers"],
                "ours_tokens_per_s": tokens / seconds["ours"],
            }
        )
    best_ours = max(rows, key=lambda row: row["ours_docs_per_s"])
    best_theirs = max(rows, key=lambda row: row["transformers_docs_per_s"])
    return {
        "rows": rows,
        "best_ours": best_ours,
        "best_transformers": best_theirs,
        "speedup": best_ours["ours_docs_per_s"] / best_theirs["transformers_docs_per_s"],
        "all_identical": all(row["identical_texts"] == row["documents"] for row in rows),
    }


def print_comparison(result: dict) -> None:
    for row in result["rows"]:
        print(
            f"  batch {row['batch_size']:3d}  ours {row['ours_docs_per_s']:8.2f} docs/s "
            f"({row['ours_tokens_per_s']:8.1f} generated tokens/s)  transformers "
            f"{row['transformers_docs_per_s']:8.2f} docs/s  "
            f"identical texts {row['identical_texts']}/{row['documents']}"
        )
    ours, theirs = result["best_ours"], result["best_transformers"]
    print(
        f"  best: ours {ours['ours_docs_per_s']:.2f} docs/s (batch {ours['batch_size']}), transformers "
        f"{theirs['transformers_docs_per_s']:.2f} docs/s (batch {theirs['batch_size']}): "
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
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    texts, origin = abstracts(args.data, args.documents)
    print(
        f"extraction, biogpt shape with {args.layers} layers (random weights), {len(texts)} abstracts "
        f"({origin}), sources cut at {args.max_source} tokens, greedy, at most {args.new_tokens} new "
        f"tokens, {args.threads} threads, medians of {args.repeats} runs"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = model_directory(Path(directory), args.data, args.layers, args.max_source)
        sides = load_sides(path, args.data, texts, args.new_tokens, "cpu")
    result = compare(sides, args.batch_sizes, args.repeats, lambda: None)
    print_comparison(result)
    if not result["all_identical"]:
        raise SystemExit("the two sides generated different texts: the timings compare other work")


if __name__ == "__main__":
    main()
