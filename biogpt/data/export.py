"""Export a split's processed examples: ``python -m biogpt.data.export task=ddi split=test out=x.jsonl``.

Composes the training config (so every override of ``train.py`` applies: target format, prompt,
order, truncation) and writes one JSON object per example, in the task's example order (the order
``evaluate.py`` expects generations in): ``id``, ``source``, ``target``, and the token counts of the
truncated source, the prompt, the target (with its ``</s>``) and the whole training sequence.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig

from biogpt.paths import CONF_DIR


def export(cfg: DictConfig) -> Path:
    from biogpt.data.datamodule import tokenized_split
    from biogpt.pipeline import build_layout, load_tokenizer, prompt_config, task_config

    tokenizer = load_tokenizer(cfg)
    layout = build_layout(cfg, tokenizer, prompt_config(cfg))
    table = tokenized_split(task_config(cfg), cfg.split, tokenizer, Path(cfg.data.cache_dir).expanduser())
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for row in table:
            source = layout.truncate_source(row["source_ids"])
            target = layout.truncate_target(row["target_ids"])
            record = {
                "id": row["id"],
                "source": row["source"],
                "target": row["target"],
                "source_tokens": len(source),
                "prompt_tokens": len(layout.prompt_ids),
                "target_tokens": len(target),
                "total_tokens": 1 + len(source) + len(layout.prompt_ids) + len(target) - 1,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(table)} examples to {out}")
    return out


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    export(cfg)


if __name__ == "__main__":
    main()
