"""Task configuration: construction by name and errors that list the valid choices."""

from __future__ import annotations

import pytest

from biogpt.data.tasks import (
    HoCSettings,
    PubMedQASettings,
    RelationTaskSettings,
    load_task_split,
    make_task_settings,
)


def test_make_task_config_builds_the_right_dataclass() -> None:
    assert make_task_settings("ddi", data_dir="d") == RelationTaskSettings(name="ddi", data_dir="d")
    assert make_task_settings("pubmedqa", data_dir="d", fold=3) == PubMedQASettings(data_dir="d", fold=3)
    assert make_task_settings("hoc", data_dir="d", splits=("train",)) == HoCSettings(
        data_dir="d", splits=("train",)
    )
    defaults = make_task_settings("kd-dti", data_dir="d")
    assert (defaults.target_format, defaults.order, defaults.keep_empty) == ("rel-is", "release", False)


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        (
            "gad",
            {},
            "unknown task 'gad'; valid tasks: bc5cdr, cdr, chemprot, custom, dce, ddi, ddi2013, hoc, "
            "kd-dti, pubmedqa",
        ),
        ("kd-dti", {"target_format": "htr"}, "valid formats: is-of, rel-is, structured, svo"),
        ("bc5cdr", {"target_format": "structured"}, "valid formats: rel-is, svo"),
        ("ddi", {"order": "sorted"}, "unknown order 'sorted'; valid orders: release, appearance"),
        ("pubmedqa", {"fold": 10}, r"fold must be in 0\.\.9"),
        ("pubmedqa", {"splits": ("dev",)}, "valid PubMedQA splits: train, valid, test"),
    ],
)
def test_invalid_configs_list_valid_choices(name: str, fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_task_settings(name, data_dir="d", **fields)


def test_unknown_split_lists_configured_splits() -> None:
    config = make_task_settings("kd-dti", data_dir="d", splits=("valid", "test"))
    with pytest.raises(
        ValueError, match="unknown split 'train' for task 'kd-dti'; valid splits: valid, test"
    ):
        load_task_split(config, "train")
