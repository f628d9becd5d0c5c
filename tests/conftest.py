"""Shared fixtures: where the real data lives; and one compute thread per test worker.

Tests read the public releases from ``../shared/data`` (beside the project root), or from the
directory named by ``BIOGPT_DATA``; they are never copied into the repository.

The suite runs in ``pytest-xdist`` workers (``scripts/test.sh``: one per core, a test file's tests on
one worker, so its module fixtures are built once). The tests' networks are tiny, so a second intra-op
thread buys a process little, while two threaded processes on two cores fight over them; each worker
(and every command a test starts, through ``OMP_NUM_THREADS``) therefore computes on one thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BIOGPT_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker: one compute thread here and in the processes the tests start."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


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

    return fine_tune_ddi(tmp_path_factory.mktemp("fine-tuned-ddi"), shared_data, token_cache)
