"""The README's main job: ``bash scripts/demo.sh`` on the embedded sample, as a fresh machine runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def test_demo_command_runs_the_whole_pipeline_on_the_embedded_sample(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        ["bash", "scripts/demo.sh", "--out", str(out)],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # nothing from this session's environment
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=2400,
    )
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
