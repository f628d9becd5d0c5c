"""The README's main job: ``bash scripts/demo.sh`` on the embedded sample, as a fresh machine runs it; and
bf16 inference on the model it pre-trains."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from biogpt.data.pubmed.packed import PackedDataModule
from biogpt.model import BioGPT
from biogpt.model.precision import inference_dtype

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The demo's output directory and its command's result."""
    home = tmp_path_factory.mktemp("home")
    out = home / "demo"
    result = subprocess.run(
        ["bash", "scripts/demo.sh", "--out", str(out)],
        cwd=PROJECT,
        # Nothing from this session's environment but the suite's one compute thread per worker
        # (tests/conftest.py): on two threads the demo contends with the other worker's tests for the
        # same cores (alone on a 2-core AVX2 EPYC: 290 CPU-seconds on two threads, 223 on one).
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "OMP_NUM_THREADS": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    return out, result


def test_demo_command_runs_the_whole_pipeline_on_the_embedded_sample(demo) -> None:
    out, result = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "biogpt demo: results" in result.stdout and "where the outputs are" in result.stdout
    pretrained = json.loads((out / "pretrain" / "metrics.json").read_text())
    assert pretrained["split"] == "valid" and pretrained["metrics"]["perplexity"] < 20
    finetuned = json.loads((out / "finetune" / "metrics.json").read_text())
    assert finetuned["task"] == "kd-dti" and finetuned["examples"] == 24
    # Every test example was generated for and scored; how well depends on the CPU's rounding over the
    # short training (see the README), so no figure is asserted.
    predictions = [
        json.loads(line) for line in (out / "finetune" / "predictions.jsonl").read_text().splitlines()
    ]
    assert len(predictions) == 24 and all(isinstance(p["generated"], str) for p in predictions)
    assert set(finetuned["metrics"]) >= {"precision", "recall", "f1"}
    for path in ("finetune/final/model.safetensors", "finetune/predictions.jsonl", "vocab/dict.txt"):
        assert (out / path).is_file() and str(out / path.split("/")[0]) in result.stdout
    again = subprocess.run(
        ["bash", "scripts/demo.sh", "--out", str(out)], cwd=PROJECT, capture_output=True, text=True
    )
    assert again.returncode == 1 and "is not empty" in again.stderr


def valid_perplexity(model: Path, corpus: Path, dtype: str) -> float:
    """The model's perplexity over every block of the packed corpus's valid split, in ``dtype``."""
    network = BioGPT.from_pretrained(model, dtype=inference_dtype(dtype)).eval()
    loss, tokens = 0.0, 0
    with torch.no_grad():
        for batch in PackedDataModule(corpus, blocks_per_batch=8).valid_loader():
            logits = network(batch["input_ids"].long())
            targets = batch["targets"].long()
            loss += F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="sum").item()
            tokens += targets.numel()
    return math.exp(loss / tokens)


def test_bf16_inference_on_the_demo_pretrained_model_scores_as_fp32(demo) -> None:
    """The bar for bf16 on the demo's pre-trained model: its valid perplexity within 0.5 of fp32's (3.9834
    and 3.9841 on a 2-core AVX-512 AMD EPYC, with an earlier version; other CPUs and versions train
    another model, so only the bar is asserted).
    How often bf16 keeps fp32's exact greedy continuations depends on the model's near-ties and on the
    CPU's kernels: ``benchmarks/bench_bf16.py --model <demo>/pretrain/final`` measures it (93% of 256
    prompts there), and ``tests/test_bf16.py`` checks identical texts where a fine-tuned model is sure."""
    out, result = demo
    assert result.returncode == 0, result.stderr[-3000:]
    pretrained = json.loads((out / "pretrain" / "metrics.json").read_text())["metrics"]["perplexity"]
    model, corpus = out / "pretrain" / "final", out / "packed"
    perplexity = {dtype: valid_perplexity(model, corpus, dtype) for dtype in ("fp32", "bf16")}
    print(f"perplexity {perplexity}")
    assert perplexity["fp32"] == pytest.approx(pretrained, rel=1e-4)  # what the demo's validation says
    assert abs(perplexity["bf16"] - perplexity["fp32"]) <= 0.5, perplexity
