"""``biogpt-data validate``: deliberately broken copies of the hand-written corpora, one defect each,
are named at their file and line and end the command with status 1; ``train.py`` stops on them before
building a model."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from project_commands import run_command

from biogpt.cli import data

CORPORA = Path(__file__).resolve().parent / "corpora" / "custom"


def validate(
    arguments: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["biogpt-data", "validate", *arguments])
    with pytest.raises(SystemExit) as exited:
        data()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def brat_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "brat"
    shutil.copytree(CORPORA / "brat" / "train", copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_sound_corpus_is_counted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = CORPORA / "brat" / "train"
    status, out, _ = validate(
        ["task=custom", "task.kind=relation", f"task.train={corpus}", f"task.valid={corpus}"],
        capsys,
        monkeypatch,
    )
    assert status == 0
    assert out.splitlines()[:5] == [
        "train: 3 examples (brat, 6 file(s), 3 records)",
        "  relations per type: ADVISE 1, EFFECT 3, MECHANISM 1",
        "  entity types: Drug 9, Symptom 1",
        "  read, not used: brat # (note) lines 1, brat A (attribute) lines 1",
        "valid: 3 examples (brat, 6 file(s), 3 records)",
    ]


def test_what_the_settings_leave_out_of_scoring_is_counted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relations a filter leaves out, and gold labels or answers a closed set lacks (a misspelt label
    in task.labels: scoring has no class for its examples), are reported, never dropped silently."""
    brat = CORPORA / "brat" / "train"
    filtered = ["task=custom", "task.kind=relation", f"task.train={brat}", f"task.valid={brat}"]
    status, out, _ = validate([*filtered, "task.relation_types=[EFFECT]"], capsys, monkeypatch)
    assert status == 0
    assert out.splitlines()[1:5] == [
        "  relations per type: EFFECT 3",
        "  entity types: Drug 9, Symptom 1",
        "  read, not used: brat # (note) lines 1, brat A (attribute) lines 1",
        "  left out by the task's settings: relations of type ADVISE 1, relations of type MECHANISM 1",
    ]
    classes = CORPORA / "jsonl" / "classes.jsonl"
    closed = ["task=custom", "task.kind=classification", f"task.train={classes}", f"task.valid={classes}"]
    status, out, _ = validate([*closed, "task.labels=[Resisting Cell Death, empty]"], capsys, monkeypatch)
    assert status == 0 and out.splitlines()[2] == (
        "  gold, not in task.labels (scoring has no class for it): activating invasion and metastasis 1, "
        "inducing angiogenesis 1, resisting cell death 1"
    )
    # As eval.match compares them: case and spaces folded, "Resisting Cell Death" is in the set.
    _, folded, _ = validate(
        [*closed, "task.labels=[Resisting  Cell Death]", "eval.match=lower"], capsys, monkeypatch
    )
    assert folded.splitlines()[2].endswith(
        ": activating invasion and metastasis 1, empty 1, inducing angiogenesis 1"
    )
    questions = CORPORA / "csv" / "questions.csv"
    qa = ["task=custom", "task.kind=qa", f"task.train={questions}", f"task.valid={questions}"]
    _, out, _ = validate([*qa, "task.answers=[yes, maybe]"], capsys, monkeypatch)
    assert "  gold, not in task.answers (scoring has no class for it): no 1" in out.splitlines()


def test_types_the_settings_name_and_no_split_holds_are_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelt type in task.verbalize kept its relations' default wording, in task.symmetric scored
    them as directed, in a filter kept nothing: each was ignored quietly. Types are compared as read,
    before any filter (task.relation_types=[EFFECT] does not hide ADVISE from task.verbalize)."""
    brat = CORPORA / "brat" / "train"
    settings = [
        "task.verbalize={Effect: affects, ADVISE: advises}",
        "task.symmetric=[INT]",
        "task.relation_types=[EFFECT, ADVISE]",
        "task.entity_types=[Drug, Chemical]",
    ]
    status, out, _ = validate(
        ["task=custom", "task.kind=relation", f"task.train={brat}", *settings], capsys, monkeypatch
    )
    assert status == 0
    assert out.splitlines()[-4:] == [
        "  read, not used: brat # (note) lines 1, brat A (attribute) lines 1",
        "task.verbalize names types no split holds: Effect (the corpus's: ADVISE, EFFECT, MECHANISM)",
        "task.symmetric names types no split holds: INT (the corpus's: ADVISE, EFFECT, MECHANISM)",
        "task.entity_types names types no split holds: Chemical (the corpus's: Drug, Symptom)",
    ]


def test_examples_a_later_split_shares_with_an_earlier_one_are_named(
    shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An example whose text an earlier split holds (under any id) is scored on what the model trained
    on. The oracle for the release's DDI: the documents of test.json whose abstract, spaces folded, is a
    train.json abstract; the release's HoC valid.tsv and test.tsv are one file (its README says so)."""
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    raw = {
        split: json.loads((shared_data / "DDI" / "raw" / f"{split}.json").read_text())
        for split in ("train", "test")
    }
    trained = {" ".join(document["abstract"].split()) for document in raw["train"].values()}
    leaked = [i for i, document in raw["test"].items() if " ".join(document["abstract"].split()) in trained]
    status, out, _ = validate(["task=ddi"], capsys, monkeypatch)
    assert status == 0 and leaked
    assert out.splitlines()[-1] == (
        f"overlap: {len(leaked)} test example(s) have the text of a train example: {', '.join(leaked)}"
    )
    _, out, _ = validate(["task=hoc"], capsys, monkeypatch)
    test_examples = int(next(line for line in out.splitlines() if line.startswith("test: ")).split()[1])
    assert f"overlap: {test_examples} test example(s) have the text of a valid example: 0, 1, 2" in out
    brat = CORPORA / "brat" / "train"
    _, out, _ = validate(
        ["task=custom", "task.kind=relation", f"task.train={brat}", f"task.test={brat}"], capsys, monkeypatch
    )
    assert out.splitlines()[-2:] == [
        "overlap: 2 test example(s) have the text of a train example: d1, d3",
        "overlap: 1 test example(s) have the text of a valid example: d2",
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "d1.ann",
            "R3\tMECHANISM Arg1:T1 Arg2:T4",
            "R3\tMECHANISM Arg1:T1 Arg2:T42",
            "d1.ann:9: relation R3 (MECHANISM): argument T42 is no entity of d1",
        ),
        (
            "d2.ann",
            "T1\tDrug 0 9",
            "T1\tDrug 100 109",
            "d2.ann:1: entity T1 (Drug): offsets 100-109 outside the text of d2",
        ),
        (
            "d3.ann",
            "T3\tSymptom 38 46",
            "T3\tSymptom 31 37",
            "d3.ann:3: entity T3 (Symptom): text 'rigidity' differs from 'reduce' at its offsets 31-37",
        ),
        ("d1.ann", "R2\tADVISE Arg1:T5 Arg2:T6", "R2\tADVISE T5 T6", "d1.ann:8: malformed relation line"),
    ],
)
def test_each_defect_is_named_at_its_line(
    file: str,
    old: str,
    new: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = brat_copy(tmp_path)
    edit(corpus / file, old, new)
    status, out, err = validate(
        ["task=custom", "task.kind=relation", f"task.train={corpus}", f"task.valid={corpus}"],
        capsys,
        monkeypatch,
    )
    assert status == 1
    assert f"{corpus / file.split(':')[0]}{message.removeprefix(file)}" in out + err
    assert "Traceback" not in err


def test_a_bioc_defect_is_named_at_its_xml_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "train.xml"
    shutil.copy(CORPORA / "bioc" / "train.xml", corpus)
    edit(corpus, '<location offset="80" length="9"/>', '<location offset="81" length="9"/>')
    status, out, _ = validate(
        ["task=custom", "task.kind=relation", f"task.train={corpus}", f"task.valid={corpus}"],
        capsys,
        monkeypatch,
    )
    assert status == 1
    assert (
        f"{corpus}:40: entity T5 (Drug): text 'ibuprofen' differs from 'buprofen ' at its offsets 81-90"
        in out
    )


def test_an_unknown_format_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    status, _, err = validate(
        ["task=custom", "task.kind=relation", f"task.train={tmp_path}"], capsys, monkeypatch
    )
    assert status == 1
    assert err.startswith(f"error: task.train={tmp_path}: no file in a known corpus format")


def test_train_stops_on_a_defect_before_building_a_model(tmp_path: Path) -> None:
    corpus = brat_copy(tmp_path)
    edit(corpus / "d2.ann", "T1\tDrug 0 9", "T1\tDrug 100 109")
    result = run_command(
        ["train.py", "task=custom", "task.kind=relation", f"task.train={corpus}", f"task.test={corpus}",
         "model.init=no-such-org/no-such-model", f"hydra.run.dir={tmp_path / 'run'}"],
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"{corpus / 'd2.ann'}:1: entity T1 (Drug): offsets 100-109 outside the text of d2" in result.stderr
    assert "Traceback" not in result.stderr


def test_examples_over_a_models_positions_are_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    corpus = CORPORA / "brat" / "train"
    arguments = ["task=custom", "task.kind=relation", f"task.train={corpus}", f"task.valid={corpus}"]
    # BioGPT's vocabulary, 16 source positions and the 9-token soft prompt leave 48 - 16 - 9 = 23 target
    # positions: d1's source (18 tokens) is cut, and d1's and d3's targets (28 and 24 with </s>) do not fit.
    status, out, _ = validate(
        [
            *arguments,
            "model=tiny",
            f"data_dir={shared_data}",
            "task.max_source_positions=16",
            "task.max_positions=48",
        ],
        capsys,
        monkeypatch,
    )
    assert status == 0
    assert "  over the model's positions (2): d1, d3" in out.splitlines()


def test_duplicate_ids_and_a_builtin_task_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    rows = (CORPORA / "jsonl" / "classes.jsonl").read_text().splitlines()
    (tmp_path / "twice.jsonl").write_text("\n".join([*rows, rows[0]]) + "\n")
    corpus = tmp_path / "twice.jsonl"
    status, out, _ = validate(
        ["task=custom", "task.kind=classification", f"task.train={corpus}", f"task.valid={corpus}"],
        capsys,
        monkeypatch,
    )
    assert status == 0  # a duplicate is worth knowing, not a reason to stop
    assert "  duplicate ids (1): c1" in out.splitlines()
    status, out, _ = validate(["task=hoc", f"data_dir={shared_data}"], capsys, monkeypatch)
    assert (
        status == 0 and out.startswith("train: ") and "  labels: activating invasion and metastasis " in out
    )


def test_the_config_block_maps_onto_the_task_settings(tmp_path: Path, shared_data: Path) -> None:
    from hydra_config import compose_train

    from biogpt.experiment.config.settings import task_settings

    corpus = CORPORA / "brat" / "train"
    cfg = compose_train(
        tmp_path,
        shared_data,
        ["task=custom", "task.kind=relation", f"task.train={corpus}", "target_format=svo", "eval.match=lower",
         "task.symmetric=[INT]", "task.verbalize={EFFECT: affects}"],
    )  # fmt: skip
    task = task_settings(cfg)
    assert (task.name, task.target_format, task.match, task.symmetric) == ("custom", "svo", "lower", ("INT",))
    assert task.words("EFFECT") == "affects" and task.words("DRUG_DRUG") == "drug drug"
