"""What ``evaluate.py`` runs: a model (or generated texts) in, official metrics and prediction files out."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from biogpt.data.datamodule import tokenized_split
from biogpt.data.tasks import load_task_split
from biogpt.evaluation import score_predictions, write_scores
from biogpt.generation import GenerationConfig
from biogpt.inference import constrained_vocabularies, generate_texts, load_generator, template_text
from biogpt.pipeline import build_layout, default_vocabulary, prompt_config, task_config

logger = logging.getLogger(__name__)


def read_generations(path: Path) -> list[str]:
    """One generated text per line (a trailing newline at the end of the file is not a line)."""
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def model_generations(cfg: DictConfig, ids: list[str] | None) -> list[str]:
    generator = load_generator(
        str(cfg.ckpt),
        tokenizer_source=cfg.tokenizer,
        default_vocab=default_vocabulary(cfg),
        configured_prompt=prompt_config(cfg),
    )
    layout = build_layout(cfg, generator.tokenizer, generator.prompt, generator.model.config.max_positions)
    table = tokenized_split(
        task_config(cfg), cfg.split, generator.tokenizer, Path(cfg.data.cache_dir).expanduser()
    )
    sources = dict(zip(table["id"], table["source_ids"], strict=True))
    chosen = ids if ids is not None else list(table["id"])
    generation = GenerationConfig(**OmegaConf.to_container(cfg.generation, resolve=True))
    chosen_sources = [sources[i] for i in chosen]
    allowed = None
    if cfg.constrained:
        task = task_config(cfg)
        template = template_text(task, load_task_split(task, cfg.data.splits.train).examples)
        allowed = constrained_vocabularies(generator.tokenizer, template, chosen_sources, layout.prompt_ids)
    return generate_texts(generator, layout, chosen_sources, generation, cfg.batch_size, allowed)


def evaluate(cfg: DictConfig) -> Path:
    if (cfg.ckpt is None) == (cfg.predictions is None):
        raise ValueError(
            "set exactly one of ckpt=<model> (generate, then score) and predictions=<file> (score)"
        )
    ids = list(cfg.ids) if cfg.ids is not None else None
    generations = read_generations(Path(cfg.predictions)) if cfg.predictions else model_generations(cfg, ids)
    scores = score_predictions(task_config(cfg), generations, split=cfg.split, ids=ids)
    directory = write_scores(scores, Path(cfg.run_dir))
    print(json.dumps({"parse_failures": scores.parse_failures, **scores.metrics}, indent=2))
    print(f"metrics: {directory / 'metrics.json'}")
    return directory
