"""PubMed baseline files, the pre-training corpus's input, verified against NCBI's published MD5 files.

NLM republishes the baseline every year under new names (``pubmed25n0001.xml.gz``, ...), so the
names are read from the source's listing rather than pinned: NCBI's directory page, an HTTP mirror's
index page, or a local mirror directory. Each ``NAME.md5`` (``MD5(NAME)= <hex>``) is kept next to
its file under ``<data_dir>/PubMed/baseline/``, the layout a mirror has too, and the directory is
what ``python -m biogpt.data.pubmed`` reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from biogpt.data.files.fetch import Digest, fetch, join, local_path, matches, read_text
from biogpt.errors import DataFileError

BASELINE_URL = "https://ftp.ncbi.nlm.nih.gov/pubmed/baseline/"
BASELINE_DIR = "PubMed/baseline"
_NAME = re.compile(r"pubmed\d\dn(\d{4})\.xml\.gz")
_MD5 = re.compile(r"([0-9a-fA-F]{32})\s*$")


def listing(source: str) -> list[str]:
    """The baseline file names at ``source`` (a directory URL or path), in release order."""
    if source.startswith(("http://", "https://")):
        text = read_text(source, f"list the PubMed baseline at {source}")
    else:
        try:
            text = "\n".join(os.listdir(local_path(source)))
        except OSError as error:
            raise DataFileError(f"cannot list the PubMed baseline at {source}: {error.strerror}") from None
    return sorted({match.group(0) for match in _NAME.finditer(text)})


def choose(names: list[str], files: int | None, numbers: tuple[int, int] | None) -> list[str]:
    """The first ``files`` names, or those numbered ``numbers[0]..numbers[1]`` (inclusive), or all."""
    if files is not None:
        return names[:files]
    if numbers is not None:
        low, high = numbers
        return [name for name in names if low <= _number(name) <= high]
    return names


def _number(name: str) -> int:
    """The file's number in the release (``pubmed25n0042.xml.gz`` -> 42)."""
    match = _NAME.fullmatch(name)
    return int(match.group(1)) if match else -1


def published_md5(path: Path) -> Digest:
    """The digest an NCBI ``.md5`` file states."""
    found = _MD5.search(path.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        raise DataFileError(f"{path}: no MD5 digest in it (expected 'MD5(<file>)= <32 hex digits>')")
    return Digest("md5", found.group(1).lower())


def download_baseline(
    data_dir: Path,
    mirror: str | None = None,
    files: int | None = None,
    numbers: tuple[int, int] | None = None,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Fetch the chosen baseline files and their MD5 files into ``<data_dir>/PubMed/baseline``;
    returns the data files. A file already there with its published MD5 is not fetched again."""
    source = join(mirror, BASELINE_DIR) if mirror else BASELINE_URL
    names = choose(listing(source), files, numbers)
    if not names:
        raise DataFileError(f"no PubMed baseline file at {source} matches the selection")
    target = data_dir / BASELINE_DIR
    log(f"PubMed baseline: {len(names)} files from {source} into {target}")
    for name in names:
        md5_file = target / f"{name}.md5"
        if not md5_file.is_file():
            fetch(join(source, f"{name}.md5"), md5_file, None)
        digest = published_md5(md5_file)
        if not matches(target / name, digest):
            fetch(join(source, name), target / name, digest)
            log(f"  {name}")
    return [target / name for name in names]
