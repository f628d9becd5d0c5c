"""The domain-specificity study's Table 1 from its sweeps: one row per backbone, one column per dataset and
setting (16-shot, 64-shot, full), each cell the mean ± sample std over seeds of a metric (F1 by default).

Usage::

    python -m biogpt.report multirun/study/*/* --layout study [--out DIR] [--metric f1]

Built on :mod:`.sweep`: the jobs of every directory are collected and grouped by setting there
(:func:`~.sweep.summarise`), then laid out here. A job's backbone is its
``model`` override (else ``model.init``), its dataset its ``task`` override, else the name of its
``experiment`` (``study/cdr`` -> ``cdr``; Hydra leaves ``experiment`` out of job directory names but
keeps it in each job's ``.hydra/overrides.yaml``), its setting ``data.train_shots`` (``16`` -> 16-shot;
unset or null -> full). Rows follow the study's README (its backbones' order), then other backbones
alphabetically; datasets the study's order (CDR, DCE, ChemProt, DDI), then others alphabetically;
settings by shot count, full last. A cell with no finished job shows "—"; jobs without metrics are listed.

Writes ``study.md``, ``study.csv`` (one line per cell, raw fractions) and ``study.png`` (a panel per
dataset: grouped bars, backbones x settings, std error bars).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from biogpt.experiment.reports.sweep import (
    MISSING_VALUE,
    ReportError,
    ReportPaths,
    Row,
    Run,
    Stat,
    Table,
    choose_metric,
    missing_footnote,
    write_report_files,
)

SHOTS_KEY = "data.train_shots"
MODEL_KEYS = ("model", "model.init")
DATASET_KEYS = ("task", "experiment")
FULL = "full"
# The study README's backbones and datasets, in its order (as this project's presets and tasks name them).
STUDY_MODELS = (
    "google-t5/t5-small",
    "google-t5/t5-base",
    "google-t5/t5-large",
    "google/flan-t5-small",
    "google/flan-t5-base",
    "google/flan-t5-large",
    "razent/SciFive-base-Pubmed",
    "razent/SciFive-large-Pubmed",
    "facebook/bart-base",
    "facebook/bart-large",
    "GanjinZero/biobart-v2-base",
    "GanjinZero/biobart-v2-large",
    "cogint/in-boxbart",
    "openai-community/gpt2-medium",
    "openai-community/gpt2-xl",
    "EleutherAI/gpt-neo-2.7B",
    "microsoft/biogpt",
    "microsoft/BioGPT-Large",
    "stanford-crfm/BioMedLM",
)
STUDY_DATASETS = ("cdr", "dce", "chemprot", "ddi", "ddi2013")

Cell = tuple[str, str, str]  # (model, dataset, setting)


@dataclass(frozen=True)
class StudyTable:
    """Table 1's shape: ``cells`` maps (model, dataset, setting) to the row of its seeds; ``scale`` turns
    the metric's raw values into what is shown (100 for percentages)."""

    root: Path
    metric: str
    scale: float
    models: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    cells: dict[Cell, Row]
    missing: tuple[Run, ...]

    def stat(self, cell: Cell) -> Stat | None:
        row = self.cells.get(cell)
        return None if row is None else row.metrics[self.metric]


def _first(values: dict[str, str], keys: tuple[str, ...], default: str) -> str:
    return next((values[key] for key in keys if values.get(key) not in (None, "null")), default)


def _dataset(values: dict[str, str]) -> str:
    return _first(values, DATASET_KEYS, MISSING_VALUE).rsplit("/", 1)[-1]


def _setting(values: dict[str, str]) -> str:
    shots = values.get(SHOTS_KEY)
    return FULL if shots in (None, "null") else f"{shots}-shot"


def _known_first(names: set[str], known: tuple[str, ...]) -> list[str]:
    return [name for name in known if name in names] + sorted(names - set(known))


def _setting_order(setting: str) -> tuple[int, int]:
    return (1, 0) if setting == FULL else (0, int(setting.removesuffix("-shot")))


def study_table(table: Table, metric: str | None = None) -> StudyTable:
    """Lay a summarised sweep out as Table 1; a cell reached by two settings (another swept override
    than the backbone, the dataset, the shots and the seed) is an error naming that override."""
    chosen = choose_metric(table, metric)
    cells: dict[Cell, Row] = {}
    for row in table.rows:
        if chosen not in row.metrics:
            continue
        values = dict(table.common) | {
            key: value for key, value in zip(table.keys, row.setting, strict=True) if value is not None
        }
        cell = (_first(values, MODEL_KEYS, "(default model)"), _dataset(values), _setting(values))
        if cell in cells:
            laid_out = {*MODEL_KEYS, *DATASET_KEYS, SHOTS_KEY}
            others = ", ".join(key for key in table.keys if key not in laid_out)
            raise ReportError(f"several settings fall into the cell {cell}: the sweeps also vary {others}")
        cells[cell] = row
    models = _known_first({model for model, _, _ in cells}, STUDY_MODELS)
    datasets = _known_first({dataset for _, dataset, _ in cells}, STUDY_DATASETS)
    columns = [
        (dataset, setting)
        for dataset in datasets
        for setting in sorted({s for _, d, s in cells if d == dataset}, key=_setting_order)
    ]
    scale = 100.0 if chosen in table.percent else 1.0
    return StudyTable(table.root, chosen, scale, tuple(models), tuple(columns), cells, table.missing)


def format_cell(stat: Stat | None, scale: float) -> str:
    """``mean ± std (n=N)``, the mean alone for one seed, "—" for no finished job."""
    if stat is None:
        return MISSING_VALUE
    spread = "" if stat.std is None else f" ± {stat.std * scale:.2f}"
    return f"{stat.mean * scale:.2f}{spread} (n={stat.n})"


def render_study_markdown(study: StudyTable) -> str:
    unit = " (%)" if study.scale == 100.0 else ""
    headers = ["model", *(f"{dataset} {setting}" for dataset, setting in study.columns)]
    lines = [
        f"# Domain-specificity study, {study.metric}{unit}: {study.root}",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":--"] + ["--:"] * len(study.columns)) + "|",
    ]
    for model in study.models:
        cells = [format_cell(study.stat((model, *column)), study.scale) for column in study.columns]
        lines.append("| " + " | ".join([model, *cells]) + " |")
    lines += [
        "",
        f"Each cell: {study.metric}{unit}, mean ± sample standard deviation (n - 1 denominator) over the n "
        "seeds of a setting; one seed shows its value; — marks a setting without a finished job.",
        *missing_footnote(study.missing, study.root),
    ]
    return "\n".join(lines) + "\n"


def render_study_csv(study: StudyTable) -> str:
    """One line per filled cell: model, dataset, setting, n, seeds, the metric's raw mean and std."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["model", "dataset", "setting", "n", "seeds", f"{study.metric}_mean", f"{study.metric}_std"]
    )
    for model in study.models:
        for dataset, setting in study.columns:
            row = study.cells.get((model, dataset, setting))
            if row is None:
                continue
            stat = row.metrics[study.metric]
            std = "" if stat.std is None else repr(stat.std)
            writer.writerow([model, dataset, setting, row.n, ";".join(row.seeds), repr(stat.mean), std])
    return buffer.getvalue()


def plot_study(study: StudyTable) -> Figure:
    """A panel per dataset: a group of bars per backbone, one bar per setting, std error bars."""
    datasets = list(dict.fromkeys(dataset for dataset, _ in study.columns))
    settings = sorted({setting for _, setting in study.columns}, key=_setting_order)
    width = 0.8 / len(settings)
    figure = Figure(
        figsize=(max(7.0, 0.5 * len(study.models) * len(datasets) + 2.0), 5.0), layout="constrained"
    )
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(datasets), sharey=True, squeeze=False)[0]
    for axes, dataset in zip(panels, datasets, strict=True):
        for index, setting in enumerate(settings):
            stats = [study.stat((model, dataset, setting)) for model in study.models]
            axes.bar(
                [
                    position + (index - (len(settings) - 1) / 2) * width
                    for position in range(len(study.models))
                ],
                [0.0 if stat is None else stat.mean * study.scale for stat in stats],
                width,
                yerr=[0.0 if stat is None or stat.std is None else stat.std * study.scale for stat in stats],
                capsize=2,
                label=setting,
            )
        axes.set_xticks(range(len(study.models)), study.models, rotation=60, ha="right", fontsize="small")
        axes.set_title(dataset)
        axes.grid(True, axis="y", alpha=0.3)
        axes.set_axisbelow(True)
    panels[0].set_ylabel(f"{study.metric}{' (%)' if study.scale == 100.0 else ''}, mean ± std over seeds")
    panels[-1].legend(title="setting")
    return figure


def write_study_report(study: StudyTable, out_dir: str | Path) -> ReportPaths:
    """Write ``study.md``, ``study.csv`` and ``study.png`` into ``out_dir``."""
    return write_report_files(
        out_dir, "study", render_study_markdown(study), render_study_csv(study), plot_study(study)
    )
