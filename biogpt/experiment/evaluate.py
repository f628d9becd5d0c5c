"""The evaluation job (``evaluate.py``): a model (or generated texts) in, official metrics and prediction
files out, with the ``eval`` settings a training run's closing evaluation uses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import load_generator
from biogpt.errors import DataFileError
from biogpt.evaluation.base import Scores
from biogpt.evaluation.protocol import evaluate_generator, score_and_write, selected_ids
from biogpt.evaluation.scoring import GenerationCountError
from biogpt.experiment.config.settings import RunSettings, run_settings
from biogpt.experiment.validate import check_task_data
from biogpt.model.precision import inference_dtype
from biogpt.textfiles import read_text


def read_generations(path: Path) -> list[str]:
    """One generated text per line (a trailing newline at the end of the file is not a line)."""
    try:
        return read_text(path, "UTF-8 text, one generated text a line").splitlines()
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read ({error})") from None


def evaluate_model(
    settings: RunSettings, source: str | Path, out_dir: Path, trained_ids: Sequence[str] | None = None
) -> Scores:
    """Generate with the model at ``source`` as the ``eval`` settings say (in ``eval.dtype``), score,
    write to ``out_dir``.

    A training run's closing evaluation and ``evaluate.py ckpt=<run>/final`` both run this.
    """
    generator = load_generator(
        str(source),
        tokenizer=settings.tokenizer,
        vocab_root=settings.vocab_root,
        prompt=settings.prompt,
        dtype=inference_dtype(settings.evaluation.dtype, "eval.dtype"),
    )
    return evaluate_generator(
        generator,
        settings.task,
        settings.evaluation,
        settings.layout,
        out_dir,
        cache_dir=settings.cache_dir,
        train_split=settings.split("train"),
        trained_ids=trained_ids,
    )


def evaluate(cfg: DictConfig) -> Path:
    """Score ``predictions=`` or generate with ``ckpt=`` (exactly one is set, and ``eval.split``: the
    validation step checked); returns the run directory."""
    settings = run_settings(cfg)
    evaluation, task = settings.evaluation, settings.task
    check_task_data(task, [str(evaluation.split)], split_key="eval.split")
    directory = Path(cfg.run_dir)
    scores: Scores
    if cfg.ckpt is not None:
        scores = evaluate_model(settings, cfg.ckpt, directory)
    else:
        predictions = Path(cfg.predictions)
        try:
            scores = score_and_write(
                task, read_generations(predictions), evaluation, selected_ids(evaluation, task), directory
            )
        except GenerationCountError as error:
            raise DataFileError(f"{predictions}: {error}") from None
    print(json.dumps({"parse_failures": scores.parse_failures, **scores.metrics}, indent=2))
    print(f"metrics: {directory / 'metrics.json'}")
    return directory
