"""A tiny fine-tuned relation extractor for the extraction tests: what a user's ``final/`` holds.

``train.py debug=overfit`` memorises 4 DDI test documents (sources cut at 32 tokens), so the model
states real relations for those and generates freely for others; its ``final/`` records the task
(``task.json``) as any fine-tuning run's does.
"""

from __future__ import annotations

from pathlib import Path

from project_commands import run_project

FINE_TUNED_SOURCE_POSITIONS = 32


def common_options(shared_data: Path, token_cache: Path) -> list[str]:
    """The task options the model was fine-tuned with, which ``evaluate.py`` must be given again."""
    return [
        f"data_dir={shared_data}",
        f"data.cache_dir={token_cache}",
        "task=ddi",
        f"task.max_source_positions={FINE_TUNED_SOURCE_POSITIONS}",
    ]


def fine_tune_ddi(run_dir: Path, shared_data: Path, token_cache: Path) -> Path:
    """Fine-tune the tiny model into ``run_dir``; returns its ``final/`` directory."""
    run_project(
        [
            "train.py",
            *common_options(shared_data, token_cache),
            "debug=overfit",
            "data.splits.train=test",
            "logger={}",
            "trainer.enable_progress_bar=false",
            f"hydra.run.dir={run_dir}",
        ]
    )
    return run_dir / "final"
