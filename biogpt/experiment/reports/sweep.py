"""Gather a Hydra multirun sweep into a paper-style table (Markdown + CSV) and a plot.

Usage::

    python -m biogpt.report multirun/2024-05-01_12-00-00 [more sweeps...] [--out DIR] [--metric f1]
        [--x prompt.length] [--layout sweep|study]

(the command is :mod:`biogpt.experiment.reports.command`). ``--layout study`` lays the jobs out as the
domain-specificity study's Table 1 instead (:mod:`biogpt.experiment.reports.study`).

The sweep directory holds one directory per job (found recursively by its ``.hydra/overrides.yaml``),
each with the ``metrics.json`` that evaluation writes at the end of the job. A job's *setting* is its
overrides minus ``seed``; overrides identical in every job are printed once as "common", and jobs that
differ only by seed are grouped into one row with n (their count) and, per metric, the mean ± sample
standard deviation (n - 1 denominator). A row with n = 1 shows its single value without "±", since a
spread of one run would be meaningless. Fraction metrics (every value within [0, 1]; never the counts
``tp``/``fp``/``fn`` or ``loss``/``perplexity``) are shown as percentages with two decimals, marked
"(%)", as in the paper's tables; the CSV keeps the raw values of ``metrics.json``.

Jobs without a readable ``metrics.json`` (failed or unfinished) are listed in a footnote and on
stderr rather than dropped silently; the table is built from the others.

Writes ``report.md``, ``report.csv`` and ``report.png`` (default: into the sweep directory). The plot
draws the metric against a numeric swept key (one line per combination of the other swept keys, std
error bars), or a bar chart per setting when no swept key is numeric.

As a library: ``collect_runs(directory)`` -> ``summarise(runs)`` -> ``write_report(table, out_dir)``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from biogpt.artifacts.summary import RAW_METRICS

SEED_KEY = "seed"
# The paper's column order; any other metric follows alphabetically.
METRIC_ORDER = ("precision", "recall", "f1", "accuracy", "macro_f1", "loss", "perplexity")
# Metrics that are not fractions (counts, losses), so never scaled to percentages.
# Default plot axes, in order of preference: the sweeps the paper plots.
PREFERRED_X = ("prompt.length", "data.train_shots")
PREFERRED_METRICS = ("f1", "accuracy")
MISSING_VALUE = "—"


class ReportError(ValueError):
    """A sweep that cannot be reported, or options that do not fit it; the message says how to fix it."""


@dataclass(frozen=True)
class Run:
    """One Hydra job of the sweep directory ``sweep``: its overrides and, when it finished, its metrics.

    ``problem`` says why ``metrics`` is None (no file, unreadable file), so the report can tell a
    failed job from a corrupt result.
    """

    directory: Path
    sweep: Path
    overrides: dict[str, str]
    metrics: dict[str, float] | None
    parse_failures: float | None = None
    problem: str | None = None

    @property
    def name(self) -> str:
        """The job's path inside its sweep (Hydra's override dirname): how a person finds it."""
        return self.directory.relative_to(self.sweep).as_posix()


@dataclass(frozen=True)
class Stat:
    """Mean and sample std of one metric over a row's seeds; ``std`` is None for a single value."""

    mean: float
    std: float | None
    n: int


@dataclass(frozen=True)
class Row:
    """One setting: its swept values (None where a job did not set the key) and seed statistics."""

    setting: tuple[str | None, ...]
    seeds: tuple[str, ...]
    metrics: dict[str, Stat]
    parse_failures: float | None

    @property
    def n(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class Table:
    """A summarised sweep: ``keys`` are the swept (non-seed, non-common) overrides, one per setting column.

    ``percent`` names the metrics shown as percentages; ``missing`` the jobs left out for lack of metrics.
    """

    root: Path
    common: dict[str, str]
    keys: tuple[str, ...]
    metrics: tuple[str, ...]
    percent: frozenset[str]
    rows: tuple[Row, ...]
    missing: tuple[Run, ...]

    def numeric_keys(self) -> list[str]:
        """Swept keys whose value is a number in every row that sets them: the possible x axes of a line
        plot (rows without the key, e.g. hard prompts beside soft prompt lengths, become reference lines)."""
        return [
            key
            for i, key in enumerate(self.keys)
            if any(row.setting[i] is not None for row in self.rows)
            and all(_number(row.setting[i]) is not None for row in self.rows if row.setting[i] is not None)
        ]


@dataclass(frozen=True)
class ReportPaths:
    """Where ``write_report`` put the three outputs, for the caller to print or open."""

    markdown: Path
    csv: Path
    png: Path


def write_report_files(
    out_dir: str | Path, stem: str, markdown: str, csv_text: str, figure: Figure
) -> ReportPaths:
    """``<stem>.md``, ``.csv`` and ``.png`` in ``out_dir``: the three outputs of every report layout."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}.png")
    paths.markdown.write_text(markdown, encoding="utf-8")
    paths.csv.write_text(csv_text, encoding="utf-8")
    figure.savefig(paths.png, dpi=120)
    return paths


def parse_override(text: str) -> tuple[str, str]:
    """Split ``key=value`` on the first ``=`` (values may hold ``=`` or quoted commas); drop ``+``/``++``."""
    key, _, value = text.partition("=")
    return key.lstrip("+"), value


def _read_overrides(path: Path) -> dict[str, str]:
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or error
        raise ReportError(f"{where}: not YAML ({problem}); expected Hydra's list of overrides") from error
    if not isinstance(items, list):
        raise ReportError(f"{path} should hold a YAML list of override strings, got {type(items).__name__}")
    return dict(parse_override(str(item)) for item in items)


def _read_metrics(path: Path) -> tuple[dict[str, float] | None, float | None, str | None]:
    """The numeric metrics and parse-failure count of a ``metrics.json``, or why there are none."""
    if not path.is_file():
        return None, None, "no metrics.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        metrics = summary["metrics"]
        if not isinstance(metrics, dict):
            raise TypeError("'metrics' is not an object")
    except (ValueError, KeyError, TypeError) as error:
        return None, None, f"unreadable metrics.json ({error})"
    numbers = {name: float(value) for name, value in metrics.items() if _is_number(value)}
    failures = summary.get("parse_failures")
    return numbers, float(failures) if _is_number(failures) else None, None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def collect_runs(directory: str | Path) -> list[Run]:
    """Every job under ``directory`` (recursively, by ``.hydra/overrides.yaml``), sorted by path.

    Jobs without metrics are kept, with the reason, so the report can list them.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ReportError(f"sweep directory not found: {root}")
    runs = []
    for overrides_file in sorted(root.rglob("overrides.yaml")):
        if overrides_file.parent.name != ".hydra":
            continue
        job = overrides_file.parent.parent
        metrics, failures, problem = _read_metrics(job / "metrics.json")
        runs.append(Run(job, root, _read_overrides(overrides_file), metrics, failures, problem))
    if not runs:
        raise ReportError(f"no Hydra job (.hydra/overrides.yaml) found under {root}")
    return runs


def _number(value: str | None) -> float | None:
    """A finite number written in an override value, else None (so 'nan' and 'true' sort as text)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _setting_order(setting: tuple[str | None, ...]) -> tuple[tuple[int, float, str], ...]:
    """Sort key: unset first, then numbers by value (5 before 13), then text."""
    order = []
    for value in setting:
        number = _number(value)
        if value is None:
            order.append((0, 0.0, ""))
        elif number is not None:
            order.append((1, number, value))
        else:
            order.append((2, 0.0, value))
    return tuple(order)


def metric_order(names: Sequence[str]) -> tuple[str, ...]:
    """The paper's metric columns first, in its order, then the others alphabetically."""
    known = [name for name in METRIC_ORDER if name in names]
    return tuple(known + sorted(set(names) - set(METRIC_ORDER)))


def _stat(values: list[float]) -> Stat:
    std = statistics.stdev(values) if len(values) > 1 else None
    return Stat(statistics.fmean(values), std, len(values))


def summarise(runs: Sequence[Run]) -> Table:
    """Group finished runs by setting (overrides minus seed and minus overrides common to all jobs)."""
    if not runs:
        raise ReportError("no runs to summarise")
    finished = [run for run in runs if run.metrics is not None]
    missing = tuple(run for run in runs if run.metrics is None)
    root = Path(os.path.commonpath([run.sweep for run in runs]))
    if not finished:
        raise ReportError(
            f"no job under {root} has metrics: all {len(runs)} job(s) failed or are unfinished "
            f"(e.g. {missing[0].name}: {missing[0].problem})"
        )
    keys_in_order = list(dict.fromkeys(key for run in finished for key in run.overrides))
    common = {
        key: finished[0].overrides[key]
        for key in keys_in_order
        if all(key in run.overrides for run in finished)
        and len({run.overrides[key] for run in finished}) == 1
    }
    keys = tuple(key for key in keys_in_order if key != SEED_KEY and key not in common)
    metrics = metric_order(list({name for run in finished for name in run.metrics or {}}))
    percent = frozenset(
        name
        for name in metrics
        if name not in RAW_METRICS
        and all(0.0 <= run.metrics[name] <= 1.0 for run in finished if name in (run.metrics or {}))
    )

    def setting(run: Run) -> tuple[str | None, ...]:
        return tuple(run.overrides.get(key) for key in keys)

    def order(run: Run) -> tuple[tuple[int, float, str], ...]:
        """Rows by setting; within a row, seeds numerically (so seed 10 comes after seed 2)."""
        return _setting_order((*setting(run), run.overrides.get(SEED_KEY)))

    rows = []
    for values, group in groupby(sorted(finished, key=order), key=setting):
        jobs = list(group)
        stats = {
            name: _stat([job.metrics[name] for job in jobs if name in (job.metrics or {})])
            for name in metrics
            if any(name in (job.metrics or {}) for job in jobs)
        }
        failures = [job.parse_failures for job in jobs if job.parse_failures is not None]
        seeds = tuple(job.overrides.get(SEED_KEY, MISSING_VALUE) for job in jobs)
        rows.append(Row(values, seeds, stats, statistics.fmean(failures) if failures else None))
    return Table(root, common, keys, metrics, percent, tuple(rows), missing)


def choose_metric(table: Table, metric: str | None = None) -> str:
    """``metric`` checked against the table, or the paper's headline one (f1, else accuracy, else first)."""
    if metric is None:
        return next((name for name in PREFERRED_METRICS if name in table.metrics), table.metrics[0])
    if metric not in table.metrics:
        raise ReportError(f"unknown metric {metric!r}; valid metrics: {', '.join(table.metrics)}")
    return metric


def choose_x(table: Table, x: str | None = None) -> str | None:
    """``x`` checked against the numeric swept keys, or the preferred one; None means a bar chart."""
    candidates = table.numeric_keys()
    if x is None:
        return next((key for key in PREFERRED_X if key in candidates), candidates[0] if candidates else None)
    if x not in candidates:
        listed = ", ".join(candidates) if candidates else "none (no swept key has only numeric values)"
        raise ReportError(f"--x {x!r} is not a numeric swept key; candidates: {listed}")
    return x


def _scale(table: Table, metric: str) -> float:
    return 100.0 if metric in table.percent else 1.0


def _format_stat(stat: Stat | None, scale: float) -> str:
    if stat is None:
        return MISSING_VALUE
    if stat.std is None:
        return f"{stat.mean * scale:.2f}"
    return f"{stat.mean * scale:.2f} ± {stat.std * scale:.2f}"


def _metric_header(table: Table, metric: str) -> str:
    return f"{metric} (%)" if metric in table.percent else metric


def _has_failures(table: Table) -> bool:
    return any(row.parse_failures is not None for row in table.rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def setting_label(keys: Sequence[str], values: Sequence[str | None]) -> str:
    """``key=value, ...`` naming a row (or a plot line); "(all jobs)" when nothing is swept."""
    pairs = zip(keys, values, strict=True)
    return ", ".join(f"{k}={MISSING_VALUE if v is None else v}" for k, v in pairs) or "(all jobs)"


def render_markdown(table: Table) -> str:
    """The report: common overrides, the table, what the numbers mean, and the missing jobs."""
    lines = [f"# Sweep report: {table.root}", ""]
    if table.common:
        lines += ["common: " + ", ".join(f"`{k}={v}`" for k, v in table.common.items()), ""]
    headers = [*table.keys, "n", *(_metric_header(table, m) for m in table.metrics)]
    aligns = [":--"] * len(table.keys) + ["--:"] * (1 + len(table.metrics))
    if _has_failures(table):
        headers.append("parse failures")
        aligns.append("--:")
    if not table.keys:
        headers.insert(0, "setting")
        aligns.insert(0, ":--")
    lines += ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join(aligns) + "|"]
    for row in table.rows:
        cells = [MISSING_VALUE if value is None else value for value in row.setting] or ["(all jobs)"]
        cells.append(str(row.n))
        cells += [_format_stat(row.metrics.get(m), _scale(table, m)) for m in table.metrics]
        if _has_failures(table):
            cells.append(MISSING_VALUE if row.parse_failures is None else f"{row.parse_failures:.1f}")
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "Values are mean ± sample standard deviation (n - 1 denominator) over the n seeds of a setting; "
        "a setting with n = 1 shows its single value. Columns marked (%) are percentages"
        + ("; parse failures is the mean count per run." if _has_failures(table) else "."),
    ]
    lines += missing_footnote(table.missing, table.root)
    return "\n".join(lines) + "\n"


def missing_footnote(missing: Sequence[Run], root: Path) -> list[str]:
    """The Markdown lines naming the jobs without metrics by their path under ``root`` (the sweeps'
    common directory); none when every job finished."""
    if not missing:
        return []
    return [
        "",
        f"{len(missing)} job(s) without metrics are left out of the table[^missing].",
        "",
        "[^missing]: "
        + "; ".join(f"`{run.directory.relative_to(root).as_posix()}` ({run.problem})" for run in missing),
    ]


def render_csv(table: Table) -> str:
    """One line per row: setting, n, seeds, raw ``<metric>_mean``/``_std`` (empty std when n = 1)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = [*table.keys, "n", "seeds"]
    for metric in table.metrics:
        header += [f"{metric}_mean", f"{metric}_std"]
    header.append("parse_failures_mean")
    writer.writerow(header)
    for row in table.rows:
        line = ["" if value is None else value for value in row.setting]
        line += [str(row.n), ";".join(row.seeds)]
        for metric in table.metrics:
            stat = row.metrics.get(metric)
            if stat is None:
                line += ["", ""]
            else:
                line += [repr(stat.mean), "" if stat.std is None else repr(stat.std)]
        line.append("" if row.parse_failures is None else repr(row.parse_failures))
        writer.writerow(line)
    return buffer.getvalue()


def _x_value(row: Row, index: int) -> float:
    """The row's number for the plot's x key; ``choose_x`` only offers keys numeric in every row."""
    number = _number(row.setting[index])
    assert number is not None, row.setting
    return number


def plot(table: Table, metric: str, x: str | None) -> Figure:
    """Metric against ``x`` (a line per combination of the other swept keys), or bars when ``x`` is None.

    Builds a bare Agg-canvas figure, not a pyplot one, so it never needs a display or touches global
    figure state; the caller saves it (``figure.savefig``) or inspects it.
    """
    scale = _scale(table, metric)
    rows = [row for row in table.rows if metric in row.metrics]
    figure = Figure(figsize=(7.0, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    if x is None:
        labels = [setting_label(table.keys, row.setting) for row in rows]
        means = [row.metrics[metric].mean * scale for row in rows]
        errors = [(row.metrics[metric].std or 0.0) * scale for row in rows]
        figure.set_figwidth(max(7.0, 0.6 * len(rows) + 2.0))
        axes.bar(range(len(rows)), means, yerr=errors, capsize=3)
        if len(rows) > 3:  # long labels side by side would overlap
            axes.set_xticks(range(len(rows)), labels, rotation=30, ha="right")
        else:
            axes.set_xticks(range(len(rows)), labels)
        axes.set_xlabel(", ".join(table.keys) or "setting")
    else:
        index = table.keys.index(x)
        others = [i for i in range(len(table.keys)) if i != index]
        other_keys = [table.keys[i] for i in others]

        def line_of(row: Row) -> tuple[tuple[int, float, str], ...]:
            return _setting_order(tuple(row.setting[i] for i in others))

        for row in (row for row in rows if row.setting[index] is None):  # settings without an x value
            axes.axhline(
                row.metrics[metric].mean * scale,
                linestyle="--",
                color="gray",
                label=setting_label(other_keys, [row.setting[i] for i in others]),
            )
        rows = [row for row in rows if row.setting[index] is not None]
        for _, group in groupby(sorted(rows, key=line_of), key=line_of):
            points = sorted(group, key=lambda row: _x_value(row, index))
            label = setting_label(other_keys, [points[0].setting[i] for i in others]) if others else metric
            axes.errorbar(
                [_x_value(row, index) for row in points],
                [row.metrics[metric].mean * scale for row in points],
                yerr=[(row.metrics[metric].std or 0.0) * scale for row in points],
                marker="o",
                capsize=3,
                label=label,
            )
        axes.set_xticks(sorted({_x_value(row, index) for row in rows}))
        axes.set_xlabel(x)
        axes.legend(title=", ".join(other_keys) or None)
    axes.set_ylabel(f"{_metric_header(table, metric)}, mean ± std over seeds")
    axes.grid(True, alpha=0.3)
    axes.set_axisbelow(True)
    return figure


def write_report(
    table: Table, out_dir: str | Path, metric: str | None = None, x: str | None = None
) -> ReportPaths:
    """Write ``report.md``, ``report.csv`` and ``report.png`` into ``out_dir``.

    ``metric`` and ``x`` choose the plot (see ``choose_metric``/``choose_x``); both are checked before
    anything is written, so a bad option leaves no partial report behind.
    """
    chosen_metric = choose_metric(table, metric)
    chosen_x = choose_x(table, x)
    return write_report_files(
        out_dir, "report", render_markdown(table), render_csv(table), plot(table, chosen_metric, chosen_x)
    )
