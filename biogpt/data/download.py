"""``biogpt-data`` (``python -m biogpt.data.download``): datasets and vocabularies, fetched and checked.

    biogpt-data download all --data-dir data          # everything the paper's tables read
    biogpt-data download bc5cdr vocab --mirror /shared/biogpt-data
    biogpt-data check --data-dir data                 # present / missing / wrong checksum, per dataset
    biogpt-data pubmed --baseline --files 2           # PubMed baseline files with NCBI's MD5 files

``--data-dir`` defaults to ``$BIOGPT_DATA``, else ``data``, as the training config's ``data_dir``
does. A failure raises :class:`~biogpt.errors.DataFileError`, which the command prints as one
``error: ...`` line (:func:`biogpt.cli.data`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from biogpt.data.files.baseline import download_baseline
from biogpt.data.files.install import MISSING, UNPINNED, WRONG, DatasetReport, check, download
from biogpt.data.files.sources import ALL, datasets, select

_LISTED = 5  # files named per dataset and state in the check report


def _data_dir() -> str:
    return os.environ.get("BIOGPT_DATA", "data")


def _file_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B (file numbers, e.g. 1-10), got {text!r}") from None
    if low > high:
        raise argparse.ArgumentTypeError(f"empty range {text!r}")
    return low, high


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of files, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    names = [*datasets(), ALL]
    table = "\n".join(f"  {d.name:<9} {d.title}" for d in datasets().values())
    root = argparse.ArgumentParser(
        prog="biogpt-data",
        description=f"Fetch and verify the datasets and vocabularies.\n\ndatasets:\n{table}",
        # The entry point runs ``validate`` itself (it composes train.py's config, which this library
        # module does not import); the help names it beside the others.
        epilog="biogpt-data validate task=NAME [OVERRIDE ...]: read and check a task's data with\n"
        "train.py's overrides, nothing written (biogpt-data validate --help)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=_data_dir(), help="default: $BIOGPT_DATA, else data")
    mirror = argparse.ArgumentParser(add_help=False)
    mirror.add_argument(
        "--mirror", help="a directory or http(s)/file URL laid out like a data directory, used instead"
    )
    get = commands.add_parser("download", parents=[common, mirror], help="fetch datasets, verified")
    get.add_argument("names", nargs="+", metavar="NAME", help=f"one of {', '.join(names)}")
    verify = commands.add_parser(
        "check", parents=[common], help="hash the datasets' files against their pins"
    )
    verify.add_argument("names", nargs="*", default=[ALL], metavar="NAME", help="default: all")
    pubmed = commands.add_parser("pubmed", parents=[common, mirror], help="PubMed baseline files")
    pubmed.add_argument("--baseline", action="store_true", required=True, help="the annual baseline")
    which = pubmed.add_mutually_exclusive_group()
    which.add_argument(
        "--files", type=_positive, help="the first N files (default: all, ~1,300 files, ~50 GB)"
    )
    which.add_argument("--range", type=_file_range, dest="numbers", help="files numbered A to B")
    return root


def report_lines(report: DatasetReport) -> list[str]:
    """What ``check`` prints for one dataset: its status, then each file that is not right."""
    pinned = sum(f.file.sha256 is not None for f in report.files)
    lines = [f"{report.dataset.name:<9} {report.status:<15} {len(report.files)} files ({pinned} pinned)"]
    for state in (WRONG, MISSING, UNPINNED):
        files = report.having(state)
        for item in files[:_LISTED]:
            detail = f": expected sha256 {item.file.sha256}, got {item.actual}" if state == WRONG else ""
            note = " (no pinned checksum)" if item.file.sha256 is None and state == MISSING else ""
            lines.append(f"  {state}{note}: {item.file.path}{detail}")
        if len(files) > _LISTED:
            lines.append(f"  ... and {len(files) - _LISTED} more {state}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    commands = parser()
    args = commands.parse_args(argv)
    data_dir = Path(args.data_dir)
    if args.command == "pubmed":
        download_baseline(data_dir, args.mirror, args.files, args.numbers)
        return 0
    try:
        chosen = select(args.names)
    except ValueError as error:
        commands.error(str(error))
    if args.command == "download":
        download(chosen, data_dir, args.mirror)
        return 0
    reports = check(chosen, data_dir)
    for report in reports:
        print("\n".join(report_lines(report)))
    failed = [r.dataset.name for r in reports if r.status != "present"]
    if failed:
        print(f"fetch them with: biogpt-data download {' '.join(failed)} --data-dir {data_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    from biogpt.cli import data

    data()
