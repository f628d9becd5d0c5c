"""What ``evaluate.py`` runs: generated texts in, official metrics and prediction files out."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from biogpt.evaluation import score_predictions, write_scores
from biogpt.pipeline import task_config


def read_generations(path: Path) -> list[str]:
    """One generated text per line (a trailing newline at the end of the file is not a line)."""
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def evaluate(cfg: DictConfig) -> Path:
    if cfg.predictions is None:
        raise ValueError("set predictions=<file> with one generated text per test example")
    scores = score_predictions(task_config(cfg), read_generations(Path(cfg.predictions)), split=cfg.split)
    directory = write_scores(scores, Path(cfg.run_dir))
    print(json.dumps({"parse_failures": scores.parse_failures, **scores.metrics}, indent=2))
    print(f"metrics: {directory / 'metrics.json'}")
    return directory
