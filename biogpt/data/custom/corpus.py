"""One split's records: the split's files, read in their format; a missing ``valid`` is a seeded hold-out."""

from __future__ import annotations

from pathlib import Path

from biogpt.data.custom.bigbio import read_bigbio
from biogpt.data.custom.bioc import read_bioc
from biogpt.data.custom.brat import read_brat
from biogpt.data.custom.delimited import read_delimited
from biogpt.data.custom.document import CorpusRead
from biogpt.data.custom.files import corpus_files, detect_format
from biogpt.data.custom.jsonl import read_jsonl
from biogpt.data.custom.pubtator import read_pubtator
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.tasks.study_documents import holdout
from biogpt.errors import DataFileError


def split_format(config: CustomTaskSettings, split: str) -> tuple[str, list[Path]]:
    """The format and files of ``split`` (a hold-out ``valid`` reads ``train``'s)."""
    pattern = config.path(split) or config.train
    files = corpus_files(pattern)
    fmt = config.format or detect_format(files, f"task.{split if config.path(split) else 'train'}={pattern}")
    return fmt, files


def read_files(fmt: str, files: list[Path], config: CustomTaskSettings) -> CorpusRead:
    """Every record of ``files`` in format ``fmt``."""
    if fmt == "brat":
        return read_brat(files)
    if fmt == "bioc":
        return read_bioc(files)
    if fmt == "pubtator":
        return read_pubtator(files)
    if fmt == "bigbio":
        return read_bigbio(files, config.kind)
    if fmt == "jsonl":
        return read_jsonl(files, config)
    return read_delimited(files, config)


def read_split(config: CustomTaskSettings, split: str) -> CorpusRead:
    """The records of ``split`` in file order. Without ``task.valid``, ``valid`` is ``valid_fraction`` of
    the training records drawn with ``split_seed`` and ``train`` the rest (as DCE and DDI-2013 do)."""
    if split not in config.splits:
        raise ValueError(f"unknown split {split!r} of task custom; valid splits: {', '.join(config.splits)}")
    if split == "test" and config.test is None:
        raise DataFileError("task.test is not set: name the test file, directory or glob")
    fmt, files = split_format(config, split)
    read = read_files(fmt, files, config)
    if split in ("train", "valid") and config.valid is None:
        read.records = holdout(read.records, config, split)
    return read


def no_examples_error(
    config: CustomTaskSettings, split: str, read: CorpusRead, skipped: int
) -> DataFileError:
    """Why ``split`` has no example to train on or score: where it was read from, in which format, and
    what became of what was read (``skipped`` records or relations could not be used)."""
    fmt, files = split_format(config, split)
    given = config.path(split)
    where = f"task.{split}={given}" if given else f"task.train={config.train}"
    how = f"{len(files)} file{'' if len(files) == 1 else 's'} read as {fmt}" + (
        "" if config.format else " (detected)"
    )
    if config.valid is None and split in ("train", "valid"):
        how += f", its {split} part (task.valid_fraction={config.valid_fraction} held out for valid)"
    found = f"{len(read.records)} {config.kind} records, {skipped} records or relations skipped"
    unused = "; ".join(f"{count} {what}" for what, count in sorted(read.unused.items()))
    return DataFileError(
        f"{where}: the {split} split has no examples: {how}: {found}"
        + (f"; not used: {unused}" if unused else "")
    )
