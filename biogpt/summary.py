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


def scores_table(summary: dict[str, Any]) -> Table | None:
    """The scores of the run's closing evaluation, if it had one."""
    evaluation = summary.get("evaluation")
    if not evaluation:
        return None
    scores = Table(
        title=f"{evaluation['split']} scores ({evaluation['examples']} examples)", title_justify="left"
    )
    scores.add_column("metric")
    scores.add_column("value", justify="right")
    for name, value in evaluation["metrics"].items():
        scores.add_row(name, format_metric(name, value))
    if "parse_failures" in evaluation:
        scores.add_row("parse failures", str(evaluation["parse_failures"]))
    return scores


def print_paths(title: str, paths: dict[str, Path], console: Console) -> None:
    """One ``label: path`` line each, never wrapped or cut (a table would crop long paths to the
    terminal's width, and a cropped path cannot be copied)."""
    console.print(f"[bold]{title}[/]")
    for label, path in paths.items():
        console.print(f"  {label}: {path}", soft_wrap=True, highlight=False, markup=False)


def print_run_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """The scores, then the run's outputs that exist."""
    console = console or Console()
    scores = scores_table(summary)
    if scores is not None:
        console.print(scores)
    run_dir = Path(summary["run_dir"])
    outputs = {
        label: run_dir / relative for label, relative in RUN_OUTPUTS.items() if (run_dir / relative).exists()
    }
    print_paths(f"run directory: {run_dir} ({summary['updates']} updates)", outputs, console)
