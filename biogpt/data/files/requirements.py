"""Which files a task reads for a split, checked before a run builds anything.

A run that finds its data missing only when the datamodule first reads it has already spent minutes
loading a model (or failed with a hub error that hides the real cause); :func:`check_task_files`
answers in milliseconds with every missing path and the command that fetches them. It checks
presence only: hashing a dataset at every run start would cost seconds to minutes for nothing on
an unchanged directory, and ``biogpt-data check`` verifies the digests when wanted.

The paths are those the readers in :mod:`biogpt.data.tasks` (their file tables, where they have one)
and :mod:`biogpt.evaluation` open for a split; ``tests/test_data_requirements.py`` loads every split
from these files alone.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from biogpt.data.tasks import chemprot, dce, ddi2013
from biogpt.data.tasks.cdr import PUBTATOR_FILES
from biogpt.errors import DataFileError

# Task name -> the dataset name ``biogpt-data download`` takes.
TASK_DATASETS: dict[str, str] = {
    "bc5cdr": "bc5cdr",
    "cdr": "bc5cdr",
    "kd-dti": "kd_dti",
    "ddi": "ddi",
    "pubmedqa": "pubmedqa",
    "hoc": "hoc",
    "chemprot": "chemprot",
    "dce": "dce",
    "ddi2013": "ddi2013",
}

Need = tuple[str, ...]  # alternative paths relative to the data directory; any one will do


def _pubtator(split: str) -> list[Need]:
    """The CDR corpus file of the split, in BioGPT's folder or the corpus zip's deeper one."""
    if split not in PUBTATOR_FILES:
        return []
    name = PUBTATOR_FILES[split]
    return [(f"BC5CDR/raw/CDR_Data/{name}", f"BC5CDR/raw/CDR_Data/CDR.Corpus.v010516/{name}")]


def _chemprot(split: str) -> list[Need]:
    if split not in chemprot.SPLIT_FILES:
        return []
    folder, *files = chemprot.SPLIT_FILES[split]
    return [(f"ChemProt/raw/{folder}/{name}",) for name in files]


def split_needs(task: str, split: str) -> list[Need]:
    """What task ``task`` reads for ``split`` (and scores it with), as alternatives per file."""
    match task:
        case "bc5cdr":
            return [(f"BC5CDR/raw/{split}.json",), (f"BC5CDR/raw/{split}.entities.json",), *_pubtator(split)]
        case "cdr":
            return _pubtator(split)
        case "kd-dti" | "ddi":
            return [(f"{'KD-DTI' if task == 'kd-dti' else 'DDI'}/raw/{split}.json",)]
        case "hoc":
            return [(f"HoC/raw/{split}.tsv",)]
        case "pubmedqa":
            return [("PubMedQA/raw/ori_pqal.json",)]
        case "chemprot":
            return _chemprot(split)
        case "dce":
            files = dce.SPLIT_FILES
            return [(f"DCE/raw/{files[split]}",), ("DCE/raw/label2idx.json",)] if split in files else []
        case "ddi2013":
            return [(f"DDI2013/DDICorpus/{folder}",) for folder in ddi2013.SPLIT_FOLDERS.get(split, ())]
    raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASK_DATASETS)}")


def download_command(task: str, data_dir: str | Path) -> str:
    """The command that fetches task ``task``'s dataset into ``data_dir``."""
    return f"biogpt-data download {TASK_DATASETS[task]} --data-dir {shlex.quote(str(data_dir))}"


def check_task_files(task: str, data_dir: str | Path, splits: Iterable[str]) -> None:
    """Raise :class:`DataFileError` naming every file ``task`` would read for ``splits`` that is not
    under ``data_dir``, and the command that fetches it; presence only (see the module docstring)."""
    root = Path(data_dir)
    needs = dict.fromkeys(need for split in dict.fromkeys(splits) for need in split_needs(task, split))
    missing = [root / need[0] for need in needs if not any((root / path).exists() for path in need)]
    if missing:
        listed = "\n".join(f"  {path}" for path in missing)
        raise DataFileError(
            f"task {task} needs data missing from {root}:\n{listed}\n"
            f"fetch it with: {download_command(task, root)}"
        )
