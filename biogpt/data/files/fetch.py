"""One way to bring a file into the data directory: fetched (HTTP(S), ``file://`` or a local path)
into ``.<name>.part`` beside its destination, verified, then renamed into place.

Why this shape. A partial file is never where a reader looks, so an interrupted download cannot be
mistaken for data; the next attempt resumes from the partial file's length (an HTTP ``Range``
request, or a seek in a local file) instead of starting over, which matters for the multi-GB PubMed
baseline. A file whose digest is not the pinned one is deleted and an existing destination is kept,
so one bad byte on a mirror or in transit never replaces good data silently. Connection failures
end with one line naming the URL and the destination, because the fix (a network, a proxy, a
``--mirror``) is the user's.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlparse
from urllib.request import Request, url2pathname, urlopen

from biogpt.errors import DataFileError

TIMEOUT_S = 15
CHUNK = 1 << 20
USER_AGENT = "biogpt-data (+https://github.com/microsoft/BioGPT reproduction)"
_HTTP_RANGE_NOT_SATISFIABLE = 416
_HTTP_PARTIAL_CONTENT = 206


class DownloadError(DataFileError):
    """A source that could not be read: unreachable, refused, missing, or cut off."""


class ChecksumError(DataFileError):
    """A fetched file whose digest is not the pinned one; it was discarded."""


@dataclass(frozen=True)
class Digest:
    """The digest a file must have: ``algorithm`` is a :mod:`hashlib` name (sha256, md5)."""

    algorithm: str
    value: str


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https", "file")


def join(base: str, path: str) -> str:
    """``path`` (relative, ``/``-separated) under ``base``, a URL or a local directory."""
    if is_url(base):
        return f"{base.rstrip('/')}/{quote(path)}"
    return str(Path(base) / path)


def partial_path(destination: Path) -> Path:
    """Where ``destination`` is written until verified."""
    return destination.with_name(f".{destination.name}.part")


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def matches(path: Path, digest: Digest | None) -> bool:
    """Whether ``path`` exists and, when a digest is pinned, has it."""
    return path.is_file() and (digest is None or file_digest(path, digest.algorithm) == digest.value)


def local_path(source: str) -> Path:
    """The file a local path or a ``file://`` URL names."""
    parsed = urlparse(source)
    return Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(source)


def _open_local(source: str, offset: int, what: str) -> tuple[BinaryIO, int]:
    try:
        handle = local_path(source).open("rb")
    except OSError as error:
        raise DownloadError(f"cannot {what}: {error.strerror}") from None
    size = os.fstat(handle.fileno()).st_size
    start = offset if offset <= size else 0
    handle.seek(start)
    return handle, start


def _open_http(url: str, offset: int, what: str) -> tuple[BinaryIO, int]:
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=TIMEOUT_S)
    except HTTPError as error:
        if error.code == _HTTP_RANGE_NOT_SATISFIABLE and offset:
            # The partial file already holds every byte; verification decides whether they are right.
            return io.BytesIO(), offset
        raise DownloadError(f"cannot {what}: HTTP {error.code} {error.reason}") from None
    except (URLError, OSError) as error:
        raise DownloadError(f"cannot {what}: {getattr(error, 'reason', error)}") from None
    # A server that ignores Range answers 200 with the whole file: start over.
    return response, offset if response.status == _HTTP_PARTIAL_CONTENT else 0


def open_source(source: str, offset: int, what: str) -> tuple[BinaryIO, int]:
    """``source`` (a URL or a local path) opened at ``offset`` where it can resume, else at 0, and
    that start; a failure says it could not ``what`` (e.g. "download URL to PATH") and why."""
    remote = urlparse(source).scheme in ("http", "https")
    return (_open_http if remote else _open_local)(source, offset, what)


def read_text(source: str, what: str) -> str:
    """The whole of a small text resource (an index page, an MD5 file)."""
    stream, _ = open_source(source, 0, what)
    with stream:
        return stream.read().decode("utf-8", errors="replace")


def _download(source: str, part: Path, destination: Path) -> None:
    """Append the rest of ``source`` to ``part`` (or rewrite it when the source cannot resume)."""
    offset = part.stat().st_size if part.is_file() else 0
    stream, start = open_source(source, offset, f"download {source} to {destination}")
    try:
        with part.open("r+b" if part.is_file() else "wb") as out:
            out.seek(start)
            out.truncate()
            shutil.copyfileobj(stream, out, CHUNK)
    except (OSError, HTTPException) as error:
        raise DownloadError(
            f"download of {source} to {destination} interrupted ({error}); "
            f"rerun the command to resume from {part}"
        ) from None
    finally:
        stream.close()


def commit(part: Path, destination: Path, digest: Digest | None, origin: str) -> None:
    """Move the verified ``part`` to ``destination``; on a digest mismatch delete it and raise."""
    if digest is not None:
        actual = file_digest(part, digest.algorithm)
        if actual != digest.value:
            part.unlink()
            kept = "; the existing file was kept" if destination.exists() else ""
            raise ChecksumError(
                f"{destination}: {origin} has the wrong checksum: expected {digest.algorithm} "
                f"{digest.value}, got {actual}; the download was discarded{kept}"
            )
    os.replace(part, destination)


def fetch(source: str, destination: Path, digest: Digest | None) -> None:
    """Bring ``source`` (a URL or a local path) to ``destination``, resuming a partial download."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(destination)
    _download(source, part, destination)
    commit(part, destination, digest, source)


def extract(archive: Path, member: str, destination: Path, digest: Digest | None) -> None:
    """Bring ``member`` of the zip ``archive`` to ``destination``, verified like a download."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(destination)
    try:
        with zipfile.ZipFile(archive) as bundle, bundle.open(member) as stream, part.open("wb") as out:
            shutil.copyfileobj(stream, out, CHUNK)
    except KeyError:
        raise DataFileError(f"{archive} has no member {member!r} (needed for {destination})") from None
    commit(part, destination, digest, f"{archive}:{member}")
