"""File access shared by the task readers: a missing file is named, a malformed file says why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def raw_file(data_dir: str | Path, dataset: str, name: str) -> Path:
    """``<data_dir>/<dataset>/raw/<name>``, the public release layout; raises naming the file if absent."""
    path = Path(data_dir) / dataset / "raw" / name
    if not path.is_file():
        raise FileNotFoundError(f"missing data file {path} (expected the {dataset} release layout)")
    return path


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file whose top level is an object keyed by document id, as every release JSON file is."""
    with path.open(encoding="utf8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by document id, found {type(data).__name__}")
    return data


def require_str(record: dict[str, Any], key: str) -> str:
    """``record[key]`` if it is a string; otherwise a ValueError whose message is the skip reason."""
    if key not in record:
        raise ValueError(f"missing field {key!r}")
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected str")
    return value
