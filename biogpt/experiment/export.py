"""The export job (``python -m biogpt.data.export``): a split's processed examples as JSONL."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from biogpt.artifacts.model_dir import outline_backbone
from biogpt.data.export import write_examples
from biogpt.data.tokenized import tokenized_split
from biogpt.experiment.build import load_tokenizer
from biogpt.experiment.settings import (
    backbone_settings,
    cache_dir,
    layout_settings,
    prompt_config,
    task_config,
)
from biogpt.experiment.validate import check_task_data
from biogpt.prompts import build_layout, check_prompt_fits, prompt_tokens


def export(cfg: DictConfig) -> Path:
    """Lay out ``split`` of the task as training would (tokenizer, prompt, truncation, the backbone's
    kind and positions, read from its config without loading weights) and write it."""
    check_task_data(cfg, [cfg.split])
    tokenizer = load_tokenizer(cfg)
    model = outline_backbone(backbone_settings(cfg))
    prompt = prompt_config(cfg)
    check_prompt_fits(prompt, model)
    tokens = prompt_tokens(prompt, tokenizer)
    tokenizer.add_tokens(tokens.new_tokens)
    layout = build_layout(layout_settings(cfg), tokenizer, tokens.ids, model)
    table = tokenized_split(task_config(cfg), cfg.split, tokenizer, cache_dir(cfg))
    out = Path(cfg.out)
    count = write_examples(table, layout, out)
    print(f"wrote {count} examples to {out}")
    return out
