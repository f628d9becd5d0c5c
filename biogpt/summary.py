"""The end-of-run summary ``train.py`` prints: the closing evaluation's scores and where everything is.

A run's outputs are spread over its directory (final model, metrics, predictions, logs, checkpoints);
printing the paths that exist saves a researcher from hunting for them after every run of a sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Metrics that are not fractions, printed as they are rather than as percentages.
RAW_METRICS = frozenset({"loss", "perplexity"})

# Files and directories a run may write, by what they hold, relative to the run directory.
RUN_OUTPUTS = {
    "final model": "final",
    "metrics": "metrics.json",
    "predictions": "predictions.jsonl",
    "checkpoints": "checkpoints",
    "csv log": "logs/metrics.csv",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
}


def format_metric(name: str, value: float) -> str:
    """Fractions as the paper prints them (percentages, 2 decimals); loss and perplexity as they are."""
    return f"{value:.4f}" if name in RAW_METRICS else f"{100 * value:.2f}"


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The scores of the closing evaluation (if any) and the paths of the run's outputs."""
    tables = []
    evaluation = summary.get("evaluation")
    if evaluation:
        split = evaluation["split"]
        scores = Table(title=f"{split} scores ({evaluation['examples']} examples)", title_justify="left")
        scores.add_column("metric")
        scores.add_column("value", justify="right")
        for name, value in evaluation["metrics"].items():
            scores.add_row(name, format_metric(name, value))
        if "parse_failures" in evaluation:
            scores.add_row("parse failures", str(evaluation["parse_failures"]))
        tables.append(scores)
    run_dir = Path(summary["run_dir"])
    paths = Table(title=f"run directory: {run_dir}", title_justify="left")
    paths.add_column("output")
    paths.add_column("path")
    paths.add_row("updates", str(summary["updates"]))
    for label, relative in RUN_OUTPUTS.items():
        if (run_dir / relative).exists():
            paths.add_row(label, str(run_dir / relative))
    tables.append(paths)
    return tables


def print_run_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for table in summary_tables(summary):
        console.print(table)
