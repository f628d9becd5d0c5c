"""Evaluation as ``evaluate.py`` and the end of every training run do it: a model (or generated texts)
in, official metrics and prediction files out.

Which examples and how to decode come from the ``eval`` block of the config, so a run's closing
evaluation and a later ``evaluate.py`` of its ``final/`` model are the same computation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from biogpt.data.datamodule import tokenized_split
from biogpt.data.tasks import load_task_split
from biogpt.evaluation import Scores, score_predictions, write_scores
from biogpt.generation import GenerationConfig
from biogpt.inference import constrained_vocabularies, generate_texts, load_generator, template_text
from biogpt.pipeline import build_layout, default_vocabulary, prompt_config, task_config

logger = logging.getLogger(__name__)

TRAINED_IDS = "train"


def read_generations(path: Path) -> list[str]:
    """One generated text per line (a trailing newline at the end of the file is not a line)."""
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def selected_ids(cfg: DictConfig, trained_ids: Sequence[str] | None = None) -> list[str] | None:
    """The example ids ``eval.ids`` and ``eval.limit`` select, in order; None: the whole split.

    ``eval.ids=train`` names the examples a few-shot run trained on (``trained_ids``), which is how an
    overfitting check scores a model on exactly what it memorised.
    """
    ids = cfg.eval.ids
    if ids == TRAINED_IDS:
        if trained_ids is None:
            raise ValueError(
                "eval.ids=train needs the ids a run trained on: use it in a training run with "
                "data.train_shots set, or pass the ids of its train_summary.json as eval.ids=[...]"
            )
        ids = list(trained_ids)
    elif ids is not None:
        ids = [str(example_id) for example_id in ids]
    limit = cfg.eval.limit
    if limit is not None:
        if limit < 1:
            raise ValueError(f"eval.limit={limit}: expected a positive number of examples, or null")
        if ids is None:
            ids = [example.id for example in load_task_split(task_config(cfg), cfg.eval.split).examples]
        ids = ids[:limit]
    return ids


def model_generations(cfg: DictConfig, model_source: str, ids: list[str] | None) -> list[str]:
    """Decode each selected example of ``eval.split`` after its ``[source; prompt]`` prefix."""
    generator = load_generator(
        model_source,
        tokenizer_source=cfg.tokenizer,
        default_vocab=default_vocabulary(cfg),
        configured_prompt=prompt_config(cfg),
    )
    layout = build_layout(cfg, generator.tokenizer, generator.prompt, generator.model.config.max_positions)
    table = tokenized_split(
        task_config(cfg), cfg.eval.split, generator.tokenizer, Path(cfg.data.cache_dir).expanduser()
    )
    sources = dict(zip(table["id"], table["source_ids"], strict=True))
    chosen = ids if ids is not None else list(table["id"])
    unknown = [example_id for example_id in chosen if example_id not in sources]
    if unknown:
        raise ValueError(f"eval.ids not among the {cfg.task.name} {cfg.eval.split} examples: {unknown[:10]}")
    generation = GenerationConfig(**OmegaConf.to_container(cfg.eval.generation, resolve=True))
    chosen_sources = [sources[example_id] for example_id in chosen]
    allowed = None
    if cfg.eval.constrained:
        task = task_config(cfg)
        template = template_text(task, load_task_split(task, cfg.data.splits.train).examples)
        allowed = constrained_vocabularies(generator.tokenizer, template, chosen_sources, layout.prompt_ids)
    return generate_texts(generator, layout, chosen_sources, generation, cfg.eval.batch_size, allowed)


def evaluate_model(
    cfg: DictConfig, model_source: str | Path, out_dir: Path, trained_ids: Sequence[str] | None = None
) -> Scores:
    """Generate with ``model_source``, score, write ``metrics.json`` and the predictions to ``out_dir``."""
    ids = selected_ids(cfg, trained_ids)
    generations = model_generations(cfg, str(model_source), ids)
    scores = score_predictions(task_config(cfg), generations, split=cfg.eval.split, ids=ids)
    write_scores(scores, out_dir)
    return scores


def evaluate(cfg: DictConfig) -> Path:
    """``evaluate.py``: score ``predictions=`` or generate with ``ckpt=``; returns the run directory."""
    if (cfg.ckpt is None) == (cfg.predictions is None):
        raise ValueError(
            "set exactly one of ckpt=<model> (generate, then score) and predictions=<file> (score)"
        )
    if cfg.eval.split is None:
        raise ValueError("eval.split is null: name the split to evaluate (e.g. eval.split=test)")
    directory = Path(cfg.run_dir)
    if cfg.ckpt is not None:
        scores = evaluate_model(cfg, cfg.ckpt, directory)
    else:
        ids = selected_ids(cfg)
        generations = read_generations(Path(cfg.predictions))
        scores = score_predictions(task_config(cfg), generations, split=cfg.eval.split, ids=ids)
        write_scores(scores, directory)
    print(json.dumps({"parse_failures": scores.parse_failures, **scores.metrics}, indent=2))
    print(f"metrics: {directory / 'metrics.json'}")
    return directory
