"""What a config key may hold, and what keys must satisfy together: the vocabulary the validation tables
(:mod:`biogpt.experiment.config.validation`) are written in.

A :class:`Rule` pairs the text that says what a key allows (in errors and the README's pages of
options) with the check of a value; a :class:`Constraint` does the same for several keys at once. The
builders here make the kinds the tables use: bounded numbers, counts, choices, files and directories
that must exist, model sources (a path or a hub id), resume points, files to write.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biogpt.data.pubmed.packing import INDEX_FILE
from biogpt.model.weights import looks_like_hub_id

# resume=auto: the run directory's newest checkpoint.
RESUME_AUTO = "auto"


@dataclass(frozen=True)
class Rule:
    """What a key allows: ``allowed`` says it (in errors and the README); ``problem`` returns what is
    wrong with a value (empty when ``allowed`` says it all), or None when the value is allowed."""

    allowed: str
    problem: Callable[[Any], str | None]


def is_int(value: Any) -> bool:
    """An integer, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An integer or a float, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def expected(allowed: str, accepts: Callable[[Any], bool]) -> Rule:
    """A rule whose ``allowed`` text says all there is to say when ``accepts`` refuses a value."""
    return Rule(allowed, lambda value: None if accepts(value) else "")


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"{'<' if high_open else '<='} {high}" if high is not None else ""


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    nullable: bool = False,
) -> Rule:
    """A number (an integer where ``integer``) within the bounds (``*_open``: the bound excluded)."""
    kind = "an integer" if integer else "a number"
    bounds = _bounds(low, high, low_open, high_open)
    allowed = f"{'null or ' if nullable else ''}{kind}{' ' + bounds if bounds else ''}"

    def accepts(value: Any) -> bool:
        if value is None:
            return nullable
        if not (is_int(value) if integer else is_number(value)):
            return False
        above = low is None or (value > low if low_open else value >= low)
        below = high is None or (value < high if high_open else value <= high)
        return above and below

    return expected(allowed, accepts)


def count(minimum: int = 1, *, nullable: bool = False) -> Rule:
    """An integer of at least ``minimum``."""
    return number(minimum, integer=True, nullable=nullable)


def choice(names: Iterable[str], *, nullable: bool = False) -> Rule:
    """One of ``names``."""
    valid = tuple(names)
    allowed = f"{'null or ' if nullable else ''}one of: {', '.join(valid)}"
    return expected(allowed, lambda value: (value is None and nullable) or value in valid)


def _path_problem(value: Any, *, directory: bool) -> str | None:
    path = Path(str(value)).expanduser()
    if not path.exists():
        return "no such file or directory"
    if directory and not path.is_dir():
        return "not a directory"
    if not directory and path.is_dir():
        return "a directory"
    if not os.access(path, os.R_OK | (os.X_OK if directory else 0)):
        return "not readable"
    return None


def existing_file(what: str, *, nullable: bool = False) -> Rule:
    """An existing, readable file (``what`` says what it holds)."""
    allowed = f"{'null or ' if nullable else ''}{what} (an existing, readable file)"
    return Rule(
        allowed, lambda value: None if value is None and nullable else _path_problem(value, directory=False)
    )


def packed_corpus() -> Rule:
    """A directory :mod:`biogpt.data.pubmed.packing` wrote (its ``index.json`` names the blocks)."""

    def problem(value: Any) -> str | None:
        kind = _path_problem(value, directory=True)
        if kind is not None or (Path(str(value)).expanduser() / INDEX_FILE).is_file():
            return kind
        return (
            f"no {INDEX_FILE}, not a packed corpus "
            "(python -m biogpt.data.pubmed.packing --corpus DIR --out DIR)"
        )

    return Rule(f"a packed corpus: a directory with {INDEX_FILE}, train.bin and valid.bin", problem)


def model_source(what: str, *, nullable: bool = True) -> Rule:
    """A local directory or file, or a hub id (``org/name``), which is fetched (or found in the cache)."""
    allowed = f"{'null or ' if nullable else ''}{what}: an existing directory or file, or a hub id 'org/name'"

    def problem(value: Any) -> str | None:
        if value is None:
            return None if nullable else ""
        if Path(str(value)).expanduser().exists():
            return _path_problem(value, directory=Path(str(value)).expanduser().is_dir())
        if looks_like_hub_id(str(value)):
            return None
        return "no such file or directory, and not a hub id of the form 'org/name'"

    return Rule(allowed, problem)


def resume_point(nullable: bool = True) -> Rule:
    """``auto`` (the run directory's newest checkpoint), null (start over) or a checkpoint file: a zip
    archive, as ``torch.save`` writes every checkpoint (a model's ``.safetensors`` or a truncated copy
    would end in ``torch.load``'s traceback once the model is built)."""
    checkpoint = existing_file("a .ckpt file")

    def problem(value: Any) -> str | None:
        if value is None or value == RESUME_AUTO:
            return None
        if (missing := checkpoint.problem(value)) is not None:
            return missing
        if not zipfile.is_zipfile(Path(str(value)).expanduser()):
            return "not a checkpoint torch.save wrote (a zip archive), or a truncated one"
        return None

    return Rule(f"{RESUME_AUTO}, null, or {checkpoint.allowed}", problem)


def writable_file() -> Rule:
    """A file path whose directory exists (the file is written, or overwritten)."""

    def problem(value: Any) -> str | None:
        path = Path(str(value)).expanduser()
        if path.is_dir():
            return "a directory"
        parent = path.parent if str(path.parent) else Path(".")
        return None if parent.is_dir() else f"its directory {parent} does not exist"

    return Rule("a file to write, in an existing directory", problem)


def writable_directory() -> Rule:
    """A directory path to create or add to: not an existing file (nor an empty string)."""

    def problem(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return ""
        return "an existing file" if Path(value).expanduser().is_file() else None

    return Rule("a directory path", problem)


@dataclass(frozen=True)
class Constraint:
    """A rule between keys: ``text`` says it; ``problem`` gets the keys' values and returns what is wrong."""

    keys: tuple[str, ...]
    text: str
    problem: Callable[[Mapping[str, Any]], str | None]


def exactly_one(first: str, second: str) -> Constraint:
    """Exactly one of two keys is set, the other null."""
    return Constraint(
        (first, second),
        f"exactly one of {first} and {second} is set (the other null)",
        lambda values: None if (values[first] is None) != (values[second] is None) else "set exactly one",
    )


def outside_of(directory: str, inside: str) -> Constraint:
    """The directory ``inside`` names (a run's output) is not the directory ``directory`` names (an
    input), nor below it: what the run writes there would be read as input the next time, and a user's
    data directory would fill with the run's files."""

    def problem(values: Mapping[str, Any]) -> str | None:
        given, written = (Path(str(values[key])).expanduser().resolve() for key in (directory, inside))
        if given.is_dir() and (written == given or given in written.parents):
            return f"{inside} is the {directory} directory or below it"
        return None

    return Constraint((directory, inside), f"{inside} outside the {directory} directory", problem)


def at_most(key: str, limit: str) -> Constraint:
    """A default (``key``) within what a request may ask (``limit``)."""
    return Constraint(
        (key, limit),
        f"{key} <= {limit}",
        lambda v: None if v[key] <= v[limit] else "the default exceeds what a request may ask",
    )
