"""Reading the users' text files (JSON, JSON lines, line-based formats, XML) so that one that does not parse
is a :class:`~biogpt.errors.DataFileError` naming the file and the line, never a bare decoder error;
and the directories the commands write to (:func:`output_directory`), refused at once when unusable.

Shared by the tokenizer and the data layers, which may not import each other. Each reader passes what
it expects (``expected``), which the message ends with, so the user learns both where and what.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

from biogpt.errors import DataFileError

# The byte-order mark that Windows editors and spreadsheet exports write first in UTF-8 files: read as
# text, it would be part of the first key, field or column name ("\ufeffid" is no "id" column).
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def read_text(path: Path, expected: str) -> str:
    """The text of a UTF-8 file, without a leading byte-order mark; bytes that are not UTF-8 name their
    line."""
    data = path.read_bytes().removeprefix(_BYTE_ORDER_MARK)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataFileError.at(path, line, f"not UTF-8 text ({error.reason})", expected) from error


def read_json(path: Path, expected: str) -> Any:
    """The parsed JSON of ``path``; a truncated or malformed file names the line and column."""
    return parse_json(read_text(path, expected), path, expected)


def parse_json(text: str, path: Path, expected: str, first_line: int = 1) -> Any:
    """``text``, read from ``path`` from line ``first_line`` on (a JSON-lines file's line), parsed; text
    that is not JSON (a cut-off file or last line) names the line and column of the file."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        line = first_line + error.lineno - 1
        # "Unterminated string starting at" and the like point at the position the message starts with.
        problem = error.msg.removesuffix(" at") + (" here" if error.msg.endswith(" at") else "")
        raise DataFileError.at(path, line, f"invalid JSON: {problem}", expected, error.colno) from error


def numbered_lines(path: Path, expected: str) -> Iterator[tuple[int, str]]:
    """Every line of a UTF-8 file with its 1-based number, line ending removed, blank lines included
    (some formats number or separate records by them), a leading byte-order mark removed; a line that is
    not UTF-8 names itself."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(_BYTE_ORDER_MARK)
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise DataFileError.at(path, number, f"not UTF-8 text ({error.reason})", expected) from error


def parse_xml(path: Path, expected: str) -> ET.ElementTree:
    """The parsed XML document of ``path``; one that is not well-formed (cut off, not XML) names the line
    and column (1-based, as editors count; expat's own column is 0-based)."""
    try:
        return ET.parse(path)
    except ET.ParseError as error:
        line, column = error.position
        problem = f"not well-formed XML: {expat.ErrorString(error.code)}"
        raise DataFileError.at(path, line, problem, expected, column + 1) from error


def output_directory(text: str) -> Path:
    """An argparse type for the directory a command writes into (``--out``): refused at once when a file
    is there, where writing would fail in a traceback at the end, after all the work."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is an existing file; expected a directory to write")
    return path
