"""Errors a user fixes in their files rather than in code: raised low in the package, reported by the
commands as their message alone (``error: ...``, exit status 1), since a traceback would only bury it."""

from __future__ import annotations

import sys
from os import PathLike


def print_error(problem: object) -> None:
    """The ``error:`` line a command ends with (a list the message holds, such as the missing files of
    a data set, follows it indented)."""
    print(f"error: {problem}", file=sys.stderr)


class DataFileError(ValueError):
    """A data or vocabulary file that is missing or not what its reader expects.

    The message names the file (and, for a malformed file, the line) and what was expected, or the
    command that fetches a missing file.
    """

    @classmethod
    def at(
        cls, path: str | PathLike[str], line: int, problem: str, expected: str, column: int | None = None
    ) -> DataFileError:
        """``<path>:<line>[:<column>]: <problem>; expected <expected>``, the compiler-style place an
        editor jumps to, so the user goes straight to the line to fix."""
        where = f"{path}:{line}" if column is None else f"{path}:{line}:{column}"
        return cls(f"{where}: {problem}; expected {expected}")


class ConfigError(ValueError):
    """A setting whose value its key does not allow (a number out of range, an unknown name, a path that
    does not exist, options that exclude each other).

    The message names the key, the value given and what the key allows, so the user fixes the one
    setting, on the command line or in the config file it came from.
    """


class MissingFileError(DataFileError, FileNotFoundError):
    """A file or directory the user named (or a command needs) that is not there: a user error like a
    malformed file, and still a ``FileNotFoundError`` for callers that test for one."""
