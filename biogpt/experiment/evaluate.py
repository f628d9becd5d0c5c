"""The evaluation job (``evaluate.py``): a model (or generated texts) in, official metrics and prediction
files out, with the ``eval`` settings a training run's closing evaluation uses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import load_generator
from biogpt.evaluation.base import Scores
from biogpt.evaluation.protocol import evaluate_generator, score_and_write, selected_ids
from biogpt.experiment.settings import (
    cache_dir,
    eval_settings,
    layout_settings,
    prompt_config,
    task_config,
    vocab_root,
)
from biogpt.experiment.validate import check_task_data
from biogpt.model.precision import inference_dtype


def read_generations(path: Path) -> list[str]:
    """One generated text per line (a trailing newline at the end of the file is not a line)."""
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def evaluate_model(
    cfg: DictConfig, source: str | Path, out_dir: Path, trained_ids: Sequence[str] | None = None
) -> Scores:
    """Generate with the model at ``source`` as the ``eval`` settings say (in ``eval.dtype``), score,
    write to ``out_dir``.

    A training run's closing evaluation and ``evaluate.py ckpt=<run>/final`` both run this.
    """
    settings = eval_settings(cfg)
    generator = load_generator(
        str(source),
        tokenizer=cfg.tokenizer,
        vocab_root=vocab_root(cfg),
        prompt=prompt_config(cfg),
        dtype=inference_dtype(settings.dtype, "eval.dtype"),
    )
    return evaluate_generator(
        generator,
        task_config(cfg),
        settings,
        layout_settings(cfg),
        out_dir,
        cache_dir=cache_dir(cfg),
        train_split=cfg.data.splits.train,
        trained_ids=trained_ids,
    )


def evaluate(cfg: DictConfig) -> Path:
    """Score ``predictions=`` or generate with ``ckpt=``; returns the run directory."""
    if (cfg.ckpt is None) == (cfg.predictions is None):
        raise ValueError(
            "set exactly one of ckpt=<model> (generate, then score) and predictions=<file> (score)"
        )
    settings = eval_settings(cfg)
    if settings.split is None:
        raise ValueError("eval.split is null: name the split to evaluate (e.g. eval.split=test)")
    check_task_data(cfg, [settings.split])
    directory = Path(cfg.run_dir)
    task = task_config(cfg)
    scores: Scores
    if cfg.ckpt is not None:
        scores = evaluate_model(cfg, cfg.ckpt, directory)
    else:
        generations = read_generations(Path(cfg.predictions))
        scores = score_and_write(task, generations, settings, selected_ids(settings, task), directory)
    print(json.dumps({"parse_failures": scores.parse_failures, **scores.metrics}, indent=2))
    print(f"metrics: {directory / 'metrics.json'}")
    return directory
