"""Shared fixtures: where the real data lives; and one compute thread per test worker.

Tests read the public releases from ``../shared/data`` (beside the project root), or from the
directory named by ``BIOGPT_DATA``; they are never copied into the repository.

The suite runs in ``pytest-xdist`` workers (``scripts/test.sh``: one per core, a test file's tests on
one worker, so its module fixtures are built once). The tests' networks are tiny, so a second intra-op
thread buys a process little, while two threaded processes on two cores fight over them; each worker
(and every command a test starts, through ``OMP_NUM_THREADS``) therefore computes on one thread.
The files that take minutes start first, so that no worker ends up alone with one of them; what such a
file shares with others (the fine-tuned model of :func:`fine_tuned_ddi`) is built once per run, by
whichever worker needs it first, and read by the others.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from filelock import FileLock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BIOGPT_DATA", PROJECT_ROOT.parent / "shared" / "data"))
# Test files of minutes, longest first (from the durations table of scripts/test.sh), started before
# the others.
LONG_FILES = (
    "test_demo.py",
    "test_finetune.py",
    "test_study_e2e.py",
    "test_peft_e2e.py",
    "test_tokenizer_parity.py",
    "test_sweeps.py",
    "test_peft_resume.py",
    "test_device_check.py",
    "test_search.py",
    "test_backbone_e2e.py",
    "test_wheel.py",
    "test_serve.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker: one compute thread here and in the processes the tests start."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files first, longest first, each file's tests in their own order (a stable sort)."""
    rank = {name: index for index, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))


def run_wide_directory(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory ``name`` shared by the xdist workers of this run (this session's own without xdist)."""
    root = tmp_path_factory.getbasetemp()
    return (root.parent if "PYTEST_XDIST_WORKER" in os.environ else root) / name


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real data releases; the suite fails loudly when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data not found at {SHARED_DATA}; set BIOGPT_DATA to the shared data root")
    return SHARED_DATA


@pytest.fixture(scope="session")
def biogpt_vocab(shared_data: Path) -> Path:
    """The released BioGPT fairseq vocabulary directory (bpecodes + dict.txt)."""
    return shared_data / "vocab" / "biogpt"


@pytest.fixture(scope="session")
def token_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tokenized-corpus cache for the whole session, so each split is tokenized once."""
    return tmp_path_factory.mktemp("token-cache")


@pytest.fixture(scope="session")
def fine_tuned_ddi(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, token_cache: Path) -> Path:
    """A tiny DDI model fine-tuned by ``train.py`` (``tests/extraction_models.py``): its ``final/``."""
    from extraction_models import fine_tune_ddi

    run = run_wide_directory(tmp_path_factory, "fine-tuned-ddi")
    with FileLock(f"{run}.lock"):
        final = run / "final"
        return final if final.is_dir() else fine_tune_ddi(run, shared_data, token_cache)
