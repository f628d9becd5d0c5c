"""A split's processed examples as JSONL: exactly what the model reads.

One JSON object per example, in the task's example order (the order ``evaluate.py`` expects
generations in): ``id``, ``source``, ``target``, and the token counts of the truncated source, the
prompt, the target (with its ``</s>``) and the whole training sequence.

Command line (the experiment layer composes the training config, so every override of ``train.py``
applies): ``python -m biogpt.data.export task=ddi split=test out=ddi-test.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from biogpt.data.sequences import SequenceLayout


def write_examples(table: datasets.Dataset, layout: SequenceLayout, out: Path) -> int:
    """Write the tokenized ``table`` (see :mod:`biogpt.data.tokenized`) to ``out``; returns the count."""
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
    return len(table)


if __name__ == "__main__":
    from biogpt.cli import export

    export()
