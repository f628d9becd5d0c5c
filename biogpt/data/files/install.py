"""Datasets into a data directory (:func:`download`) and the state of one (:func:`check`).

Files come from their official sources (:mod:`biogpt.data.files.sources`) or, with ``mirror``, from a copy
laid out like a data directory (a local directory or an ``http(s)://``/``file://`` URL), so a
cluster without internet installs from a site's shared copy through the same verified path. A file
already present with its pinned digest is left alone, so rerunning a download is cheap and resumes
what an interruption left.

A file without a pin (KD-DTI's train split, see :mod:`biogpt.data.files.sources`) is best effort: it is
fetched when it can be and reported, but its absence fails neither command, because nothing could
tell a right copy from a wrong one; the training pre-check (:mod:`biogpt.data.files.requirements`) still
stops a run that reads it when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from biogpt.data.files.fetch import Digest, DownloadError, extract, fetch, file_digest, join, matches
from biogpt.data.files.sources import DataFile, Dataset

OK, UNPINNED, MISSING, WRONG = "ok", "unpinned", "missing", "wrong checksum"


def _digest(file: DataFile) -> Digest | None:
    return None if file.sha256 is None else Digest("sha256", file.sha256)


@dataclass(frozen=True)
class FileState:
    """One file of a checked dataset: ``ok``, ``unpinned`` (present, unverifiable), ``missing`` or
    ``wrong checksum`` (with the pinned and the actual SHA-256)."""

    file: DataFile
    state: str
    actual: str | None = None


@dataclass(frozen=True)
class DatasetReport:
    dataset: Dataset
    files: list[FileState] = field(default_factory=list)

    def having(self, state: str) -> list[FileState]:
        return [f for f in self.files if f.state == state]

    @property
    def status(self) -> str:
        """``wrong checksum`` or ``missing`` if a pinned file is, else ``present``."""
        if self.having(WRONG):
            return WRONG
        if any(f.file.sha256 for f in self.having(MISSING)):
            return MISSING
        return "present"


def _state(file: DataFile, data_dir: Path) -> FileState:
    path = data_dir / file.path
    if not path.is_file():
        return FileState(file, MISSING)
    if file.sha256 is None:
        return FileState(file, UNPINNED)
    actual = file_digest(path, "sha256")
    return FileState(file, OK) if actual == file.sha256 else FileState(file, WRONG, actual)


def check(datasets: Iterable[Dataset], data_dir: Path) -> list[DatasetReport]:
    """Hash every file of ``datasets`` under ``data_dir`` against its pin."""
    return [DatasetReport(d, [_state(f, data_dir) for f in d.files]) for d in datasets]


def download(
    datasets: Iterable[Dataset], data_dir: Path, mirror: str | None = None, log: Callable[[str], None] = print
) -> None:
    """Write every missing or wrong file of ``datasets`` under ``data_dir``, verified. Raises
    :class:`~biogpt.data.files.fetch.DownloadError` or :class:`~biogpt.data.files.fetch.ChecksumError`
    naming the file at the first pinned one that fails; an unpinned one that fails is reported and
    skipped."""
    for dataset in datasets:
        pending = [f for f in dataset.files if not matches(data_dir / f.path, _digest(f))]
        if not pending:
            log(f"{dataset.name}: present ({len(dataset.files)} files)")
            continue
        origin = mirror or dataset.source
        log(f"{dataset.name}: fetching {len(pending)} of {len(dataset.files)} files from {origin}")
        direct = pending if mirror else [f for f in pending if f.member is None]
        for file in direct:
            source = join(mirror, file.path) if mirror else str(file.url)
            try:
                fetch(source, data_dir / file.path, _digest(file))
            except DownloadError as error:
                if file.sha256 is not None:
                    raise
                log(f"warning: skipped {file.path}, which has no pinned checksum: {error}")
                continue
            if file.sha256 is None:
                log(f"warning: {file.path} has no pinned checksum: written unverified")
        members = [f for f in pending if f not in direct]
        if members:
            _extract_members(dataset, members, data_dir, log)


def _extract_members(
    dataset: Dataset, members: list[DataFile], data_dir: Path, log: Callable[[str], None]
) -> None:
    """Download the dataset's archive (kept as a resumable partial file until verified), extract the
    members, and delete it: the layout holds the extracted files only."""
    archive = dataset.archive
    assert archive is not None, f"{dataset.name}: archive members without an archive"
    path, digest = data_dir / archive.path, Digest("sha256", archive.sha256)
    if not matches(path, digest):
        log(f"{dataset.name}: downloading {archive.url}")
        fetch(archive.url, path, digest)
    for file in members:
        extract(path, str(file.member), data_dir / file.path, _digest(file))
    path.unlink()
