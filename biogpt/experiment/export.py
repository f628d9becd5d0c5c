"""The export job (``python -m biogpt.data.export``): a split's processed examples as JSONL."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from biogpt.artifacts.backbone_source import load_backbone_tokenizer, outline_backbone
from biogpt.data.export import write_examples
from biogpt.data.tokenized import tokenized_split
from biogpt.experiment.config.settings import run_settings
from biogpt.experiment.validate import check_task_data
from biogpt.prompts import build_layout, check_prompt_fits, prompt_tokens


def export(cfg: DictConfig) -> Path:
    """Lay out ``split`` of the task as training would (tokenizer, prompt, truncation, the backbone's
    kind and positions, read from its config without loading weights) and write it."""
    settings = run_settings(cfg)
    check_task_data(settings.task, [cfg.split], split_key="split")
    tokenizer = load_backbone_tokenizer(
        settings.backbone, tokenizer=settings.tokenizer, vocab_root=settings.vocab_root
    )
    model = outline_backbone(settings.backbone)
    prompt = settings.prompt
    check_prompt_fits(prompt, model)
    tokens = prompt_tokens(prompt, tokenizer)
    tokenizer.add_tokens(tokens.new_tokens)
    layout = build_layout(settings.layout, tokenizer, tokens.ids, model)
    table = tokenized_split(settings.task, cfg.split, tokenizer, settings.cache_dir)
    out = Path(cfg.out)
    count = write_examples(table, layout, out)
    print(f"wrote {count} examples to {out}")
    return out
