"""The training pre-check: the files it requires are exactly enough for the readers, and a run whose
data directory lacks them stops before any model is built, naming the paths and the download command."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from project_commands import run_command

from biogpt.data.files.requirements import TASK_DATASETS, check_task_files, download_command, split_needs
from biogpt.data.files.sources import datasets
from biogpt.data.tasks import TASK_NAMES, load_task_split, make_task_settings
from biogpt.errors import DataFileError
from biogpt.evaluation.bc5cdr import read_entity_ids

SPLITS = ("train", "valid", "test")


@pytest.mark.parametrize("task", sorted(TASK_DATASETS))
def test_each_split_reads_from_the_required_files_alone(task: str, shared_data: Path, tmp_path: Path) -> None:
    for split in SPLITS:
        needs = split_needs(task, split)
        present = [next((p for p in need if (shared_data / p).exists()), None) for need in needs]
        if None in present:
            assert task == "kd-dti" and split == "train"  # the one file the shared data lacks
            continue
        root = tmp_path / split
        for path in present:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).symlink_to(shared_data / path)
        check_task_files(task, root, [split])
        assert load_task_split(make_task_settings(task, data_dir=str(root)), split).examples
        if task == "bc5cdr":
            assert read_entity_ids(root, split)[0]


def test_every_task_names_a_dataset_that_holds_its_files() -> None:
    # A custom task's corpus is the user's own: there is nothing to download.
    assert sorted(TASK_DATASETS) == sorted(set(TASK_NAMES) - {"custom"})
    for task, name in TASK_DATASETS.items():
        paths = {f.path for f in datasets()[name].files}
        for split in SPLITS:
            for need in split_needs(task, split):
                assert any(p in paths or any(q.startswith(f"{p}/") for q in paths) for p in need), need


def test_missing_files_are_named_with_the_download_command(shared_data: Path, tmp_path: Path) -> None:
    check_task_files("kd-dti", shared_data, ["valid", "valid", "test"])
    with pytest.raises(DataFileError) as raised:
        check_task_files("kd-dti", shared_data, ["train", "test"])
    assert str(raised.value) == (
        f"task kd-dti needs data missing from {shared_data}:\n  {shared_data / 'KD-DTI/raw/train.json'}\n"
        f"fetch it with: {download_command('kd-dti', shared_data)}"
    )
    assert download_command("kd-dti", shared_data).startswith("biogpt-data download kd_dti --data-dir ")
    with pytest.raises(DataFileError, match="biogpt-data download bc5cdr --data-dir"):
        check_task_files("cdr", tmp_path, ["test"])


def test_train_without_the_task_data_stops_before_building_a_model(tmp_path: Path) -> None:
    empty = tmp_path / "no data"
    empty.mkdir()
    started = time.monotonic()
    result = run_command(
        # A model that could never load (a well-formed hub id, not cached, no network): the data check
        # has to come first.
        ["train.py", "task=ddi", f"data_dir={empty}", "model.init=no-such-org/no-such-model"],
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for split in SPLITS:
        assert f"  {empty / 'DDI/raw' / f'{split}.json'}\n" in result.stderr
    assert f"fetch it with: biogpt-data download ddi --data-dir '{empty}'" in result.stderr
    assert elapsed < 60, elapsed
