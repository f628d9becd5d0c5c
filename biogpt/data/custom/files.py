"""From ``task.train``/``valid``/``test`` to files, and from files to the corpus format they are in.

A path is a file, a directory (every file below it, sorted) or a glob (its matches, sorted). The
format is told by the files themselves: brat by ``.ann`` files, BioC by an XML ``collection`` or a JSON
object with ``documents``, PubTator by ``pmid|t|`` lines, BigBIO by a ``save_to_disk`` directory, a
Parquet file or JSON records with the schemas' keys, JSONL by other JSON records, CSV by ``.csv``/``.tsv``.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path

from biogpt.errors import DataFileError

# Files a ``datasets.Dataset.save_to_disk`` directory holds beside its Arrow shards.
DATASETS_MARKERS: tuple[str, ...] = ("dataset_info.json", "state.json", "dataset_dict.json")
# Keys of a record of each BigBIO schema that no plain JSONL record of ours has.
BIGBIO_KEYS: tuple[str, ...] = ("passages", "document_id", "question_id")
_PUBTATOR_TITLE = re.compile(r"^[^|\t\s]+\|t\|", re.MULTILINE)
_PEEK = 4096


def corpus_files(pattern: str) -> list[Path]:
    """The files ``pattern`` names (a file, a directory's files or a glob's matches), sorted.

    A ``datasets`` directory is one corpus "file" (its shards are read together); names starting with
    "." (editor and annotation-tool files such as brat's ``.stats_cache``) are not corpus files.
    """
    path = Path(pattern)
    if path.is_file():
        return [path]
    if path.is_dir():
        if any((path / marker).is_file() for marker in DATASETS_MARKERS):
            return [path]
        files = [f for f in sorted(path.rglob("*")) if f.is_file() and not f.name.startswith(".")]
    else:
        files = [Path(match) for match in sorted(glob.glob(pattern, recursive=True)) if Path(match).is_file()]
    if not files:
        raise DataFileError(f"{pattern}: no corpus files (expected a file, a directory of files or a glob)")
    return files


def _peek(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(_PEEK).decode("utf-8-sig", errors="replace")


def _json_format(path: Path) -> str | None:
    """bioc, bigbio or jsonl, from the first JSON value of a ``.json``/``.jsonl`` file."""
    head = _peek(path).lstrip()
    if head.startswith("{") and re.match(r'\{\s*"(source|date|key|infons|documents)"', head):
        return "bioc"
    with path.open("rb") as handle:
        first_line = handle.readline().decode("utf-8-sig", errors="replace")
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        if "documents" in record:
            return "bioc"
        return "bigbio" if any(key in record for key in BIGBIO_KEYS) else "jsonl"
    if head.startswith("["):
        return "bigbio" if any(f'"{key}"' in head for key in BIGBIO_KEYS) else "jsonl"
    return None


def file_format(path: Path, siblings: set[Path]) -> str | None:
    """The format one file is in, None for a file that belongs to no corpus format (a README)."""
    if path.is_dir():
        return "bigbio"
    suffix = path.suffix.lower()
    if suffix == ".ann":
        return "brat"
    if suffix == ".txt" and path.with_suffix(".ann") in siblings:
        return "brat"
    if suffix == ".parquet":
        return "bigbio"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".xml":
        return "bioc" if "<collection" in _peek(path) else None
    if suffix in (".json", ".jsonl"):
        return _json_format(path)
    if suffix in (".txt", ".pubtator") and _PUBTATOR_TITLE.search(_peek(path)):
        return "pubtator"
    return None


def detect_format(files: list[Path], where: str) -> str:
    """The one format of ``files``; none or several is an error naming the candidates and the files."""
    siblings = set(files)
    found: dict[str, Path] = {}
    for path in files:
        fmt = file_format(path, siblings)
        if fmt is not None:
            found.setdefault(fmt, path)
    if not found:
        raise DataFileError(
            f"{where}: no file in a known corpus format (brat .ann/.txt, BioC .xml/.json, PubTator, "
            "BigBIO, JSONL, CSV/TSV); set task.format"
        )
    if len(found) > 1:
        candidates = ", ".join(f"{fmt} ({path})" for fmt, path in sorted(found.items()))
        raise DataFileError(f"{where}: ambiguous corpus format, candidates: {candidates}; set task.format")
    return next(iter(found))
