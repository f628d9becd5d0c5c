"""``python -m biogpt.report <sweep dir> --layout search``: a hyperparameter search's trials, read from its
study (``<sweep dir>/search.json`` names the storage and study the sweeper used).

Writes ``search.md`` (the best trial and its run directory, then a row per trial: number, state,
objective, duration, parameters, and a failed trial's reason), ``search.csv`` (the same, raw) and
``search.png`` (the optimisation history: each trial's objective and the best so far; then a panel per
parameter, the objective against its values, on a log axis where it was searched on a log scale).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from biogpt.experiment.reports.sweep import MISSING_VALUE, ReportError, ReportPaths, write_report_files
from biogpt.experiment.search.sweeper import FAIL_REASON, RUN_DIR, STUDY_FILE


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str
    value: float | None
    duration_s: float | None
    params: dict[str, Any]
    run_dir: str | None
    reason: str | None


@dataclass(frozen=True)
class SearchTable:
    """A study's trials in trial order, its objective and best trial (None before any completed)."""

    study_name: str
    storage: str
    metric: str
    direction: str
    param_names: tuple[str, ...]
    log_scale: frozenset[str]
    rows: tuple[TrialRow, ...]
    best: TrialRow | None

    @property
    def completed(self) -> list[TrialRow]:
        return [row for row in self.rows if row.state == TrialState.COMPLETE.name]


def _row(trial: FrozenTrial) -> TrialRow:
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        duration_s=duration,
        params=dict(trial.params),
        run_dir=trial.user_attrs.get(RUN_DIR),
        reason=trial.user_attrs.get(FAIL_REASON),
    )


def load_search(sweep_dir: str | Path) -> SearchTable:
    """The trials of the search run in ``sweep_dir``."""
    path = Path(sweep_dir) / STUDY_FILE
    if not path.is_file():
        raise ReportError(
            f"{path} not found: {sweep_dir} is not the directory of a search (hparams_search=...)"
        )
    try:
        where = json.loads(path.read_text(encoding="utf-8"))
        storage, name = str(where["storage"]), str(where["study_name"])
    except (ValueError, KeyError, TypeError) as error:
        raise ReportError(f"{path}: expected storage and study_name ({error})") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except (KeyError, ValueError, ImportError, optuna.exceptions.OptunaError) as error:
        raise ReportError(f"study {name!r} in {storage} cannot be loaded: {error}") from None
    trials = study.get_trials(deepcopy=False)
    names: dict[str, None] = {}
    log_scale: set[str] = set()
    for trial in trials:
        for key, distribution in trial.distributions.items():
            names.setdefault(key)
            if isinstance(distribution, (FloatDistribution, IntDistribution)) and distribution.log:
                log_scale.add(key)
    rows = tuple(_row(trial) for trial in trials)
    has_best = any(trial.state == TrialState.COMPLETE for trial in trials)
    best = rows[study.best_trial.number] if has_best else None
    return SearchTable(
        study_name=name,
        storage=storage,
        metric=str(where.get("metric", "objective")),
        direction=study.direction.name.lower(),
        param_names=tuple(names),
        log_scale=frozenset(log_scale),
        rows=rows,
        best=best,
    )


def _format(value: Any) -> str:
    if value is None:
        return MISSING_VALUE
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_search_markdown(table: SearchTable) -> str:
    lines = [f"# Search `{table.study_name}`: {table.metric} ({table.direction})", ""]
    counts = {
        state: sum(row.state == state for row in table.rows) for state in ("COMPLETE", "FAIL", "RUNNING")
    }
    lines.append(
        f"{len(table.rows)} trials: {counts['COMPLETE']} complete, {counts['FAIL']} failed"
        + (f", {counts['RUNNING']} running" if counts["RUNNING"] else "")
        + f" (storage {table.storage})."
    )
    lines.append("")
    if table.best is None:
        lines.append("No trial has completed yet.")
    else:
        best = table.best
        setting = ", ".join(f"{key}={_format(value)}" for key, value in best.params.items())
        lines.append(f"**Best trial {best.number}**: {table.metric} = {_format(best.value)} with {setting}")
        lines.append(f"(run directory `{best.run_dir}`).")
    lines.append("")
    header = ["trial", "state", table.metric, "duration (s)", *table.param_names, "run directory", "reason"]
    lines.append("| " + " | ".join(_cell(name) for name in header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in table.rows:
        cells = [
            str(row.number),
            row.state,
            _format(row.value),
            _format(row.duration_s if row.duration_s is None else round(row.duration_s, 1)),
            *(_format(row.params.get(name)) for name in table.param_names),
            row.run_dir or MISSING_VALUE,
            row.reason or "",
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def render_search_csv(table: SearchTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["trial", "state", table.metric, "duration_s", *table.param_names, "run_dir", "reason"])
    for row in table.rows:
        writer.writerow(
            [
                row.number,
                row.state,
                "" if row.value is None else repr(row.value),
                "" if row.duration_s is None else f"{row.duration_s:.3f}",
                *("" if row.params.get(name) is None else row.params[name] for name in table.param_names),
                row.run_dir or "",
                row.reason or "",
            ]
        )
    return buffer.getvalue()


def plot_search(table: SearchTable) -> Figure:
    """The optimisation history, then the objective against each parameter (completed trials)."""
    panels = 1 + len(table.param_names)
    figure = Figure(figsize=(4.5 * panels, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    done = table.completed
    numbers = [row.number for row in done]
    values = [float(row.value) for row in done if row.value is not None]
    better = min if table.direction == "minimize" else max
    best_so_far = [better(values[: i + 1]) for i in range(len(values))]
    history = axes[0]
    history.plot(numbers, values, "o", label=table.metric)
    history.step(numbers, best_so_far, where="post", color="C1", label="best so far")
    history.set_xlabel("trial")
    history.set_ylabel(table.metric)
    history.set_title("optimisation history")
    history.legend()
    for panel, name in zip(axes[1:], table.param_names, strict=True):
        points = [
            (row.params[name], float(row.value))
            for row in done
            if name in row.params and row.value is not None
        ]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in points)
        xs = [x if numeric else str(x) for x, _ in points]
        panel.scatter(xs, [y for _, y in points])
        if numeric and name in table.log_scale:
            panel.set_xscale("log")
        panel.set_xlabel(name)
        panel.set_ylabel(table.metric)
        panel.set_title(f"{table.metric} against {name}")
    for panel in axes:
        panel.grid(True, alpha=0.3)
        panel.set_axisbelow(True)
    return figure


def write_search_report(table: SearchTable, out_dir: str | Path) -> ReportPaths:
    """Write ``search.md``, ``search.csv`` and ``search.png`` into ``out_dir``."""
    return write_report_files(
        out_dir, "search", render_search_markdown(table), render_search_csv(table), plot_search(table)
    )
