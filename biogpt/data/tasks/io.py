"""File access shared by the task readers: a missing file is named, a malformed file says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from biogpt.errors import DataFileError, MissingFileError
from biogpt.textfiles import read_json


def raw_file(data_dir: str | Path, dataset: str, name: str) -> Path:
    """``<data_dir>/<dataset>/raw/<name>``, the public release layout; raises naming the file if absent."""
    path = Path(data_dir) / dataset / "raw" / name
    if not path.is_file():
        raise MissingFileError(f"missing data file {path} (expected the {dataset} release layout)")
    return path


def read_json_object(path: Path, expected: str = "a JSON object keyed by document id") -> dict[str, Any]:
    """A JSON file whose top level is an object, as every release JSON file is; a file that does not
    parse, or whose top level is something else, is a DataFileError (no record of it can be trusted)."""
    data = read_json(path, expected)
    if not isinstance(data, dict):
        raise DataFileError.at(path, 1, f"the top level is a JSON {type(data).__name__}", expected)
    return data


def require_str(record: dict[str, Any], key: str) -> str:
    """``record[key]`` if it is a string; otherwise a ValueError whose message is the skip reason."""
    if key not in record:
        raise ValueError(f"missing field {key!r}")
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected str")
    return value
