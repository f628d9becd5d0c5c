"""``python -m biogpt.report``: one or more sweeps gathered into a report, as a row per setting
(:mod:`biogpt.experiment.reports.sweep`), as the domain-specificity study's Table 1
(:mod:`biogpt.experiment.reports.study`, ``--layout study``), or a hyperparameter search's trials
(:mod:`biogpt.experiment.search.report`, ``--layout search``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from biogpt.errors import print_error
from biogpt.experiment.reports.study import render_study_markdown, study_table, write_study_report
from biogpt.experiment.reports.sweep import (
    ReportError,
    collect_runs,
    render_markdown,
    summarise,
    write_report,
)
from biogpt.experiment.reports.sweep import __doc__ as report_doc
from biogpt.textfiles import output_directory


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (1, with the reason on stderr, when it cannot report)."""
    parser = argparse.ArgumentParser(
        prog="python -m biogpt.report", description=report_doc.split("\n\n")[0] if report_doc else None
    )
    parser.add_argument("directory", type=Path, nargs="+", help="the Hydra multirun directories")
    parser.add_argument(
        "--out",
        type=output_directory,
        help="where to write the report (default: the directory, or the directories' parent)",
    )
    parser.add_argument("--metric", help="metric to plot (default: f1, else accuracy, else the first)")
    parser.add_argument("--x", help="numeric swept key for the plot's x axis (default: prompt.length, ...)")
    parser.add_argument(
        "--layout",
        choices=("sweep", "study", "search"),
        default="sweep",
        help="sweep: a row per setting; study: the domain-specificity study's Table 1 (models x dataset x "
        "16-shot/64-shot/full); search: a hyperparameter search's trials (hparams_search=...), best first",
    )
    args = parser.parse_args(argv)
    directories: list[Path] = args.directory
    out = args.out or Path(os.path.commonpath(directories))
    if args.layout == "search":
        return _search_report(directories, out)
    try:
        table = summarise([run for directory in directories for run in collect_runs(directory)])
        if table.missing:
            print(
                f"warning: {len(table.missing)} job(s) have no metrics and are left out of the table:",
                file=sys.stderr,
            )
            for run in table.missing:
                print(f"  {run.directory} ({run.problem})", file=sys.stderr)
        if args.layout == "study":
            study = study_table(table, args.metric)
            paths = write_study_report(study, out)
            text = render_study_markdown(study)
        else:
            paths = write_report(table, out, args.metric, args.x)
            text = render_markdown(table)
    except ReportError as error:
        print_error(error)
        return 1
    print(text)
    for path in (paths.markdown, paths.csv, paths.png):
        print(path)
    return 0


def _search_report(directories: list[Path], out: Path) -> int:
    """``--layout search``: the trials of one search's study (its sweep directory)."""
    from biogpt.optional import require_optuna

    require_optuna("--layout search")
    from biogpt.experiment.search.report import load_search, render_search_markdown, write_search_report

    if len(directories) != 1:
        print_error("--layout search reports one search: give its sweep directory")
        return 1
    try:
        table = load_search(directories[0])
        paths = write_search_report(table, out)
    except ReportError as error:
        print_error(error)
        return 1
    print(render_search_markdown(table))
    for path in (paths.markdown, paths.csv, paths.png):
        print(path)
    return 0
