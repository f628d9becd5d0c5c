"""HoC reader on the real release: counts, literal strings (examples/DC-HoC/rebuild_data.py rules), errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from biogpt.data.tasks import load_task_split, make_task_settings


def _split(data_dir: Path, split: str):
    return load_task_split(make_task_settings("hoc", data_dir=str(data_dir)), split)


@pytest.mark.parametrize(("split", "count"), [("train", 9972), ("valid", 4947), ("test", 4947)])
def test_counts_skip_blank_separator_lines(shared_data: Path, split: str, count: int) -> None:
    result = _split(shared_data, split)
    assert (len(result.examples), result.skipped) == (count, [])
    assert [e.id for e in result.examples] == [str(i) for i in range(count)]


def test_literal_examples(shared_data: Path) -> None:
    train = _split(shared_data, "train").examples
    first = train[0]
    assert first.source == (
        "Dendritic cells ( DCs ) and natural killer ( NK ) cells are central components of innate immunity "
        "for controlling tumor growth ."
    )
    assert (first.target, first.labels) == ("the type of this document is empty.", ("empty",))
    # line 53: two labels, kept in their listed order, case and source untouched
    multi = train[52]
    assert multi.source.startswith("The deficiency or inhibition of DNA-PKcs renders")
    assert (
        multi.target == "the type of this document is resisting cell death|genomic instability and mutation."
    )
    assert multi.labels == ("resisting cell death", "genomic instability and mutation")
    # line 99 ends without "." (after the bracket): one is added
    assert train[98].source.endswith("( correlation coefficient = 0.993).(ABSTRACT TRUNCATED AT 250 WORDS ).")
    valid = _split(shared_data, "valid").examples
    assert (
        valid[1].source
        == "The interest in ionizing radiation is due to its environmental and clinical implications ."
    )


def test_records_with_an_empty_field_are_counted(tmp_path: Path) -> None:
    """Lines of the wrong width break the format and raise (tests/test_reader_errors.py)."""
    raw = tmp_path / "HoC" / "raw"
    raw.mkdir(parents=True)
    (raw / "train.tsv").write_text("A sentence\tempty\n\n\tempty\nOk .\t\nLast one .\tb|c\n", encoding="utf8")
    result = _split(tmp_path, "train")
    assert [(e.id, e.source, e.labels) for e in result.examples] == [
        ("0", "A sentence.", ("empty",)),
        ("3", "Last one .", ("b", "c")),
    ]
    assert [(s.record_id, s.reason) for s in result.skipped] == [
        ("1", "line 3: empty sentence"),
        ("2", "line 4: empty label"),
    ]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"HoC/raw/test\.tsv"):
        _split(tmp_path, "test")
