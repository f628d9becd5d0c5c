"""``task=custom`` on the hand-written corpora of ``tests/corpora/custom``: one small corpus per format,
read by the format's published definition, with the examples written out by hand.

The relation corpus is the same three documents in brat, BioC XML, BioC JSON and ``bigbio_kb``: an
equivalence over three mentions of aspirin, a relation across passages (title to abstract), a
discontinuous entity ("Levodopa ... tablets") and a document without relations.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from biogpt.data.custom.corpus import read_split
from biogpt.data.tasks import CustomTaskSettings, Example, StudyRelation, load_task_split, make_task_settings
from biogpt.errors import DataFileError

CORPORA = Path(__file__).resolve().parent / "corpora" / "custom"
RELATION_CORPORA = {
    "brat": CORPORA / "brat" / "train",
    "bioc": CORPORA / "bioc" / "train.xml",
    "bioc-json": CORPORA / "bioc_json" / "train.json",
    "bigbio": CORPORA / "bigbio" / "train.jsonl",
}
D1 = (
    "Aspirin and warfarin. Aspirin increases the effect of warfarin. "
    "Patients taking ibuprofen should avoid aspirin."
)
ASPIRIN = ("Aspirin", "aspirin")
# The brat corpus's examples in the default wording (rel-is, mention=first), written out by hand.
EXPECTED_REL_IS = [
    Example(
        "d1",
        D1,
        "the interaction between Aspirin and warfarin is effect; the interaction between ibuprofen and "
        "Aspirin is advise; the interaction between Aspirin and warfarin is mechanism.",
        relations=(
            StudyRelation((ASPIRIN, ("warfarin",)), "EFFECT"),
            StudyRelation((("ibuprofen",), ASPIRIN), "ADVISE"),
            StudyRelation((ASPIRIN, ("warfarin",)), "MECHANISM"),
        ),
    ),
    Example("d2", "Metformin was well tolerated.", "there are no relations."),
    Example(
        "d3",
        "Levodopa and carbidopa tablets reduce rigidity.",
        "the interaction between Levodopa tablets and rigidity is effect; the interaction between carbidopa "
        "tablets and rigidity is effect.",
        relations=(
            StudyRelation((("Levodopa tablets",), ("rigidity",)), "EFFECT"),
            StudyRelation((("carbidopa tablets",), ("rigidity",)), "EFFECT"),
        ),
    ),
]


def custom(kind: str, train: Path, **fields: object) -> CustomTaskSettings:
    """A custom task whose three splits are the one corpus ``train`` (unless ``fields`` say otherwise)."""
    paths = {"valid": str(train), "test": str(train)} | fields
    config = make_task_settings("custom", kind=kind, train=str(train), **paths)
    assert isinstance(config, CustomTaskSettings)
    return config


def essentials(examples: list[Example]) -> list[tuple[str, str, str, tuple[StudyRelation, ...]]]:
    return [(e.id, e.source, e.target, e.relations) for e in examples]


def test_brat_examples_as_written_by_hand() -> None:
    split = load_task_split(custom("relation", RELATION_CORPORA["brat"]), "test")
    assert essentials(split.examples) == essentials(EXPECTED_REL_IS)
    assert [t.relation for t in split.examples[0].triplets] == ["effect", "advise", "mechanism"]
    assert split.skipped == []


def test_brat_lines_without_use_are_counted() -> None:
    read = read_split(custom("relation", RELATION_CORPORA["brat"]), "test")
    assert dict(read.unused) == {"brat A (attribute) lines": 1, "brat # (note) lines": 1}


def test_files_brat_does_not_read_are_counted_and_a_split_without_examples_says_why(tmp_path: Path) -> None:
    """brat reads ``.ann`` files with their ``.txt``; any other file of a split is counted, and a split
    left without an example (a JSONL corpus read with ``task.format=brat``) is an error naming the
    option, the format and what was read, not a traceback from the tokenizer."""
    brat = tmp_path / "brat"
    brat.mkdir()
    for source in RELATION_CORPORA["brat"].iterdir():
        (brat / source.name).write_bytes(source.read_bytes())
    (brat / "README.md").write_text("annotated by hand\n")
    read = read_split(custom("relation", brat, format="brat"), "test")
    assert len(read.records) == 3
    assert read.unused["non-brat files (neither an .ann nor its .txt)"] == 1
    jsonl = CORPORA / "jsonl" / "relations.jsonl"
    with pytest.raises(DataFileError) as raised:
        load_task_split(custom("relation", jsonl, format="brat"), "test")
    assert str(raised.value) == (
        f"task.test={jsonl}: the test split has no examples: 1 file read as brat: 0 relation records, 0 "
        "records or relations skipped; not used: 1 non-brat files (neither an .ann nor its .txt)"
    )
    # Without task.valid, valid is a hold-out of train's records: one record leaves train empty.
    one = tmp_path / "one.jsonl"
    one.write_text('{"id": "r1", "text": "a text", "label": "x"}\n')
    with pytest.raises(DataFileError) as raised:
        load_task_split(custom("classification", one, valid=None), "train")
    assert str(raised.value) == (
        f"task.train={one}: the train split has no examples: 1 file read as jsonl (detected), its train "
        "part (task.valid_fraction=0.2 held out for valid): 0 classification records, 0 records or "
        "relations skipped"
    )


@pytest.mark.parametrize("fmt", ["bioc", "bioc-json", "bigbio"])
def test_every_relation_format_reads_the_same_corpus_alike(fmt: str) -> None:
    split = load_task_split(custom("relation", RELATION_CORPORA[fmt]), "test")
    assert essentials(split.examples) == essentials(EXPECTED_REL_IS)
    assert split.skipped == []


@pytest.mark.parametrize("fmt", ["bioc", "bioc-json", "bigbio"])
def test_passage_units_report_the_relation_across_passages(fmt: str) -> None:
    split = load_task_split(custom("relation", RELATION_CORPORA[fmt], unit="passage"), "test")
    title, abstract = split.examples[:2]
    assert title.source == "Aspirin and warfarin." and title.target == "there are no relations."
    assert abstract.target == (
        "the interaction between Aspirin and warfarin is effect; the interaction between ibuprofen and "
        "Aspirin is advise."
    )
    assert [e.id.split("/")[0] for e in split.examples] == ["d1", "d1", "d2", "d3"]
    assert len(split.skipped) == 1 and "R3 (MECHANISM) crosses passages" in split.skipped[0].reason


def test_study_wording_with_verbalized_types() -> None:
    config = custom(
        "relation",
        RELATION_CORPORA["brat"],
        target_format="study",
        verbalize={"EFFECT": "an effect", "ADVISE": "advice"},
        relation_types=["EFFECT", "ADVISE"],
        instruction="Find all drug-drug relations in the following passage:",
    )
    first = load_task_split(config, "test").examples[0]
    assert first.source == f"Find all drug-drug relations in the following passage:\n\n{D1}\n\n"
    assert first.target == (
        "the relation between Aspirin and warfarin is an effect; "
        "the relation between ibuprofen and Aspirin is advice."
    )


@pytest.mark.parametrize(
    ("fmt", "target"),
    [
        ("svo", "Aspirin effects warfarin; ibuprofen advises Aspirin; Aspirin mechanisms warfarin."),
        (
            "is-of",
            "Aspirin is the effect of warfarin; ibuprofen is the advise of Aspirin; "
            "Aspirin is the mechanism of warfarin.",
        ),
        (
            "structured",
            "<h> Aspirin <t> warfarin <r> effect <h> ibuprofen <t> Aspirin <r> advise "
            "<h> Aspirin <t> warfarin <r> mechanism.",
        ),
    ],
)
def test_paper_target_formats(fmt: str, target: str) -> None:
    config = custom("relation", RELATION_CORPORA["brat"], target_format=fmt)
    assert load_task_split(config, "test").examples[0].target == target


def test_filters_and_mentions() -> None:
    drugs_only = custom("relation", RELATION_CORPORA["brat"], entity_types=["Drug"], mention="longest")
    examples = load_task_split(drugs_only, "test").examples
    assert examples[2].target == "there are no relations."  # both d3 relations end at a Symptom
    effect = custom("relation", RELATION_CORPORA["brat"], relation_types=["EFFECT"], lowercase="all")
    first = load_task_split(effect, "test").examples[0]
    assert first.source == D1.lower()
    assert first.target == "the interaction between aspirin and warfarin is effect."


PUBTATOR = CORPORA / "pubtator" / "train.txt"


@pytest.mark.parametrize(
    ("mention", "chemical", "disease"),
    [
        ("first", "Cisplatin", "nephrotoxicity"),
        ("longest", "Cisplatin", "renal and hearing damage"),
        ("study", "cisplatin", "renal damage"),
    ],
)
def test_pubtator_concepts_named_by_mention(mention: str, chemical: str, disease: str) -> None:
    config = custom(
        "relation",
        PUBTATOR,
        mention=mention,
        target_format="study",
        clause="The relation between {head} and {tail} exists",
        empty_target=".",
    )
    first, second = load_task_split(config, "test").examples
    assert first.id == "10001" and second.id == "10002"
    assert first.source.endswith(
        "Cisplatin-induced nephrotoxicity. Ototoxicity and nephrotoxicity of cisplatin were observed with "
        "renal and hearing damage.\n\n"
    )
    assert first.target == (
        f"The relation between {chemical} and {disease} exists; "
        f"The relation between {chemical} and Ototoxicity exists."
    )
    # Every mention of a concept, composite parts included, counts as its name.
    assert set(first.relations[0].arguments[1]) == {
        "nephrotoxicity",
        "renal and hearing damage",
        "renal damage",
    }
    assert second.target == "."


def test_jsonl_relations_and_a_broken_record() -> None:
    split = load_task_split(custom("relation", CORPORA / "jsonl" / "relations.jsonl"), "test")
    assert [e.target for e in split.examples] == [
        "the interaction between Aspirin and warfarin is effect.",
        "there are no relations.",
        "the interaction between Ibuprofen and naproxen is int; "
        "the interaction between ibuprofen and aspirin is advise.",
    ]
    assert len(split.skipped) == 1
    assert split.skipped[0].record_id.endswith("relations.jsonl:4")


CLASSES = [
    ("c1", "Tumour cells evade apoptosis.", "the type of this document is resisting cell death."),
    (
        "c2",
        "New vessels feed the tumour and it spreads.",
        "the type of this document is inducing angiogenesis|activating invasion and metastasis.",
    ),
    ("c3", "The weather was fine.", "the type of this document is empty."),
]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (CORPORA / "csv" / "classes.csv", {"label_separator": "|"}),
        (CORPORA / "jsonl" / "classes.jsonl", {}),
        (CORPORA / "bigbio" / "classes.jsonl", {}),
    ],
)
def test_classification_in_hoc_wording(path: Path, fields: dict[str, str]) -> None:
    split = load_task_split(custom("classification", path, **fields), "test")
    assert [(e.id, e.source, e.target) for e in split.examples] == CLASSES
    assert split.examples[1].labels == ("inducing angiogenesis", "activating invasion and metastasis")
    if path.suffix == ".csv":  # the row without a label, at its line
        assert [(s.record_id, s.reason) for s in split.skipped] == [(f"{path}:5", "empty label")]


QUESTIONS = [
    (
        "q1",
        "question: Does aspirin thin the blood? "
        "context: Aspirin inhibits platelets. Bleeding time increases. ",
        "the answer to the question given the context is yes.",
    ),
    (
        "q2",
        "question: Is metformin an antibiotic? context: Metformin is an antidiabetic drug. ",
        "the answer to the question given the context is no.",
    ),
]


@pytest.mark.parametrize(
    "path",
    [
        CORPORA / "csv" / "questions.csv",
        CORPORA / "jsonl" / "questions.jsonl",
        CORPORA / "bigbio" / "questions.jsonl",
    ],
)
def test_qa_in_pubmedqa_wording(path: Path) -> None:
    split = load_task_split(custom("qa", path), "test")
    assert [(e.id, e.source, e.target) for e in split.examples] == QUESTIONS
    assert [e.answer for e in split.examples] == ["yes", "no"]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (RELATION_CORPORA["brat"], "brat"),
        (RELATION_CORPORA["bioc"], "bioc"),
        (RELATION_CORPORA["bioc-json"], "bioc"),
        (RELATION_CORPORA["bigbio"], "bigbio"),
        (PUBTATOR, "pubtator"),
        (CORPORA / "jsonl" / "relations.jsonl", "jsonl"),
        (CORPORA / "csv", "csv"),
    ],
)
def test_format_detected_from_the_files(path: Path, fmt: str) -> None:
    from biogpt.data.custom.corpus import split_format

    assert split_format(custom("classification", path), "train")[0] == fmt


def test_ambiguous_format_names_the_candidates() -> None:
    with pytest.raises(DataFileError, match=r"ambiguous corpus format, candidates: .*bioc.*brat"):
        load_task_split(custom("relation", CORPORA, valid=None), "train")


def test_missing_valid_is_a_seeded_holdout(tmp_path: Path) -> None:
    rows = "".join(f'{{"id": "r{i}", "text": "text {i}", "label": "{i % 2}"}}\n' for i in range(10))
    (tmp_path / "all.jsonl").write_text(rows)
    config = make_task_settings(
        "custom", kind="classification", train=str(tmp_path / "all.jsonl"), valid_fraction=0.3
    )
    train, valid = (load_task_split(config, s).examples for s in ("train", "valid"))
    assert len(valid) == 3 and len(train) == 7
    assert sorted(e.id for e in train + valid) == sorted(f"r{i}" for i in range(10))
    assert [e.id for e in valid] == [e.id for e in load_task_split(config, "valid").examples]
    reseeded = make_task_settings(
        "custom", kind="classification", train=str(tmp_path / "all.jsonl"), split_seed=1
    )
    assert [e.id for e in load_task_split(reseeded, "valid").examples[:3]] != [e.id for e in valid]


def test_bad_options_name_the_option() -> None:
    with pytest.raises(ValueError, match=r"task.kind='ner': expected one of relation, classification, qa"):
        make_task_settings("custom", kind="ner", train="x")
    with pytest.raises(ValueError, match=r"task.clause=.*\{head\}, then \{tail\}"):
        load_task_split(
            custom("relation", RELATION_CORPORA["brat"], target_format="study", clause="{tail} by {head}"),
            "test",
        )


@pytest.mark.parametrize("layout", ["parquet", "save_to_disk"])
def test_bigbio_as_parquet_and_a_datasets_directory(layout: str, tmp_path: Path) -> None:
    import datasets

    table = datasets.Dataset.from_json(str(RELATION_CORPORA["bigbio"]))
    if layout == "parquet":
        path = tmp_path / "train.parquet"
        table.to_parquet(str(path))
    else:
        path = tmp_path / "train"
        table.save_to_disk(str(path))
    split = load_task_split(custom("relation", path), "test")
    assert essentials(split.examples) == essentials(EXPECTED_REL_IS)


def test_a_datasets_dict_directory_names_its_splits(tmp_path: Path) -> None:
    import datasets

    table = datasets.Dataset.from_json(str(RELATION_CORPORA["bigbio"]))
    datasets.DatasetDict({"train": table, "test": table}).save_to_disk(str(tmp_path / "corpus"))
    with pytest.raises(DataFileError, match=r"a DatasetDict; point the split at one of its splits: .*/test"):
        load_task_split(custom("relation", tmp_path / "corpus", format="bigbio"), "train")


def test_records_of_another_kind_are_named() -> None:
    with pytest.raises(
        DataFileError, match=r"d1.ann:1: a Document record, but task.kind=classification reads"
    ):
        load_task_split(custom("classification", RELATION_CORPORA["brat"]), "test")


def test_a_missing_argument_in_passage_units_is_named_as_missing(tmp_path: Path) -> None:
    corpus = tmp_path / "train.xml"
    corpus.write_text(
        (CORPORA / "bioc" / "train.xml")
        .read_text()
        .replace(
            '<node refid="T4" role="Arg2"/>\n    </relation>\n  </document>',
            '<node refid="T9" role="Arg2"/>\n    </relation>\n  </document>',
        )
    )
    split = load_task_split(custom("relation", corpus, unit="passage"), "test")
    assert [s.reason for s in split.skipped] == [
        "relation R3 (MECHANISM): argument 'T9' is no entity of the document"
    ]


def test_required_keys_left_unset_are_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from biogpt.cli import data

    monkeypatch.setattr(sys, "argv", ["biogpt-data", "validate", "task=custom", "task.train=corpus"])
    with pytest.raises(SystemExit) as exited:
        data()
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        "error: task.kind is required: set task.kind=<value> (one of: relation, classification, qa)\n"
    )
    with pytest.raises(ValueError, match="task.train is not set"):
        make_task_settings("custom", kind="qa", train="???")


BYTE_ORDER_MARK = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("kind", "path", "fields"),
    [
        *(("relation", path, {}) for path in RELATION_CORPORA.values()),
        ("relation", PUBTATOR, {}),
        ("relation", CORPORA / "jsonl" / "relations.jsonl", {}),
        ("classification", CORPORA / "csv" / "classes.csv", {"label_separator": "|"}),
        ("classification", CORPORA / "jsonl" / "classes.jsonl", {}),
        ("classification", CORPORA / "bigbio" / "classes.jsonl", {}),
        ("qa", CORPORA / "csv" / "questions.csv", {}),
        ("qa", CORPORA / "jsonl" / "questions.jsonl", {}),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else None,
)
def test_a_byte_order_mark_reads_as_the_file_without_it(
    kind: str, path: Path, fields: dict[str, str], tmp_path: Path
) -> None:
    """Spreadsheet exports and Windows editors write a UTF-8 byte-order mark first. Read as text, it was
    part of the CSV header (the "id" column became "\\ufeffid", so every row's id was silently its row
    number) and of a JSON line (not JSON, and no format detected). The same corpus with a mark before
    each file reads as without it (brat's .txt excepted: its offsets count every character)."""
    corpus = tmp_path / path.name
    if path.is_dir():
        shutil.copytree(path, corpus)
    else:
        shutil.copy(path, corpus)
    config = custom(kind, corpus, **fields)
    plain = load_task_split(config, "test")
    brat_files = [file for file in corpus.rglob("*") if file.suffix == ".ann"]
    for file in [corpus] if corpus.is_file() else brat_files:
        file.write_bytes(BYTE_ORDER_MARK + file.read_bytes())
    marked = load_task_split(config, "test")
    assert plain.examples and essentials(marked.examples) == essentials(plain.examples)
    skipped = [[(s.record_id, s.reason) for s in split.skipped] for split in (plain, marked)]
    assert skipped[0] == skipped[1]


def test_a_csv_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    table = tmp_path / "latin1.csv"
    table.write_bytes("id,text,label\nc1,Tumour cells,a\nc2,Tumour c\u00e9lls,b\n".encode("latin-1"))
    with pytest.raises(DataFileError) as error:
        load_task_split(custom("classification", table), "test")
    assert str(error.value) == f"{table}:3: not UTF-8 text (invalid continuation byte); expected UTF-8 text"
