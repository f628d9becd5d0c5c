"""The end-of-run summary every training job writes and prints: the closing evaluation's scores and
where everything is.

A run's outputs are spread over its directory (final model, metrics, predictions, logs, checkpoints);
printing the paths that exist saves a researcher from hunting for them after every run of a sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Metrics that are not fractions, printed as they are rather than as percentages: counts and losses.
COUNT_METRICS = frozenset({"tp", "fp", "fn"})
RAW_METRICS = frozenset({"loss", "perplexity"}) | COUNT_METRICS
FINAL_MODEL = "final"

# Files and directories a run may write, by what they hold, relative to the run directory.
RUN_OUTPUTS = {
    "final model": FINAL_MODEL,
    "metrics": "metrics.json",
    "predictions": "predictions.jsonl",
    "checkpoints": "checkpoints",
    "csv log": "logs/metrics.csv",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
}


def format_metric(name: str, value: float) -> str:
    """Fractions as the paper prints them (percentages, 2 decimals); counts as integers; loss and
    perplexity as they are."""
    if name in COUNT_METRICS:
        return f"{value:.0f}"
    return f"{value:.4f}" if name in RAW_METRICS else f"{100 * value:.2f}"


@dataclass
class RunSummary:
    """What a training job records of itself in ``<run dir>/<job>_summary.json`` and prints at its end.

    ``evaluation`` is the closing evaluation's split, example count, metrics and files (None: none
    ran); ``extra`` holds job-specific entries (the ids a few-shot run trained on).
    """

    run_dir: Path
    updates: int
    metrics: dict[str, float]
    resumed_from: str | None = None
    evaluation: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "final_model": str(self.run_dir / FINAL_MODEL),
            "updates": self.updates,
            "resumed_from": self.resumed_from,
            **self.extra,
            "metrics": self.metrics,
        }
        if self.evaluation is not None:
            summary["evaluation"] = self.evaluation
        return summary

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")


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
