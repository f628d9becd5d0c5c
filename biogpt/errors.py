"""Errors a user fixes in their files rather than in code: raised low in the package, reported by the
commands as their message alone (``error: ...``, exit status 1), since a traceback would only bury it."""

from __future__ import annotations


class DataFileError(ValueError):
    """A data or vocabulary file that is missing or not what its reader expects.

    The message names the file (and, for a malformed file, the line) and what was expected, or the
    command that fetches a missing file.
    """
