"""A trial's objective, read from what its run wrote: the run's summary (``<run dir>/<job>_summary.json``,
:class:`biogpt.artifacts.summary.RunSummary`), whose ``metrics`` are the last value the run logged of
each metric (``valid/loss``, ``valid/ppl``, with ``select.final=best`` ``valid/<select.metric>``, ...).

A run that wrote no summary or lacks the metric has no objective: :class:`MissingObjective` says why,
and the sweeper records the trial as failed with that reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# What every validation logs; any other valid/<metric> is select.final=best's score by generation.
VALIDATION_LOSSES = frozenset({"valid/loss", "valid/ppl"})


class MissingObjective(ValueError):
    """A finished job whose run directory does not hold the objective; the message says why."""


def summary_file(run_dir: Path, job_name: str) -> Path:
    return run_dir / f"{job_name}_summary.json"


def read_objective(run_dir: Path, job_name: str, metric: str) -> float:
    """The value of ``metric`` the run recorded in its summary."""
    path = summary_file(run_dir, job_name)
    if not path.is_file():
        raise MissingObjective(f"{path} was not written: the run did not finish")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MissingObjective(f"{path}: no readable 'metrics' ({error})") from None
    if metric not in metrics:
        logged = ", ".join(sorted(metrics)) or "none"
        if not any(name.startswith("valid/") for name in metrics):
            hint = (
                " (no validation ran: trainer.limit_val_batches=0, as debug=overfit and the study recipe set)"
            )
        elif metric not in VALIDATION_LOSSES:
            hint = " (a score by generation: select.final=best logs it from epoch select.from_epoch on)"
        else:
            hint = ""
        raise MissingObjective(f"the run logged no {metric}{hint}; it logged: {logged}")
    value = float(metrics[metric])
    if not math.isfinite(value):
        raise MissingObjective(f"{metric} is {value}")
    return value
