"""A split's processed examples as JSONL: exactly what the model reads.

One JSON object per example, in the task's example order (the order ``evaluate.py`` expects
generations in): ``id``, ``source``, ``target``, and the token counts of the truncated source, the
prompt, the target (with its ``</s>``) and all the model reads in training (``total_tokens``); an
encoder-decoder layout adds ``encoder_tokens``, the encoder's input with the family's special tokens.

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
            decoder_inputs, _ = layout.training_pair(row["source_ids"], row["target_ids"])
            encoder_tokens = len(layout.encoder_input(row["source_ids"])) if layout.encoder else 0
            record = {
                "id": row["id"],
                "source": row["source"],
                "target": row["target"],
                "source_tokens": len(layout.truncate_source(row["source_ids"])),
                "prompt_tokens": len(layout.prompt_ids),
                "target_tokens": len(layout.truncate_target(row["target_ids"])),
                "total_tokens": encoder_tokens + len(decoder_inputs),
            }
            if layout.encoder:
                record["encoder_tokens"] = encoder_tokens
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(table)


if __name__ == "__main__":
    from biogpt.cli import export

    export()
