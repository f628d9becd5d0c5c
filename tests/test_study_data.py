"""The study's datasets (cdr, chemprot, dce, ddi2013) from the real corpora: counts, strings, round trips."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

from biogpt.data.tasks import (
    STUDY_TASKS,
    StudyRelation,
    TaskSplit,
    load_task_split,
    make_task_settings,
    study_template,
)
from biogpt.generation.tasks import template_text

SPLITS = ("train", "valid", "test")


@cache
def _split(data_dir: Path, name: str, split: str, **fields: object) -> TaskSplit:
    return load_task_split(make_task_settings(name, data_dir=str(data_dir), **fields), split)


# (examples, gold relations) per split; ChemProt relations de-duplicated on (head, tail, class).
COUNTS = {
    "cdr": ((500, 1038), (500, 1012), (500, 1066)),
    "chemprot": ((1020, 3346), (612, 2042), (800, 2866)),
    "dce": ((1089, 825), (273, 214), (272, 209)),
    "ddi2013": ((571, 3323), (143, 697), (191, 979)),
}
# The one DDI-2013 pair marked ddi="true" without a type: reported, its document kept.
UNTYPED_PAIR = "DDI-DrugBank.d236.s29.p0"


@pytest.mark.parametrize("name", STUDY_TASKS)
def test_counts_and_nothing_skipped(shared_data: Path, name: str) -> None:
    for split, (examples, relations) in zip(SPLITS, COUNTS[name], strict=True):
        result = _split(shared_data, name, split)
        assert (len(result.examples), sum(len(e.relations) for e in result.examples)) == (examples, relations)
        expected = [UNTYPED_PAIR] if (name, split) == ("ddi2013", "train") else []
        assert [s.record_id for s in result.skipped] == expected
        assert len({e.id for e in result.examples}) == examples


def test_held_out_splits_partition_the_training_records(shared_data: Path) -> None:
    for name, total in (("dce", 1362), ("ddi2013", 714)):
        train, valid = (_split(shared_data, name, split).examples for split in ("train", "valid"))
        assert len(valid) == -(-total // 5)  # ceil(0.2 * n), as Hugging Face's train_test_split
        assert len(train) + len(valid) == total and not {e.id for e in train} & {e.id for e in valid}
        again = _split(shared_data, name, "valid", split_seed=0).examples
        other = _split(shared_data, name, "valid", split_seed=1).examples
        assert [e.id for e in again] == [e.id for e in valid]
        assert [e.id for e in other] != [e.id for e in valid]


CDR = "Find all instances of relations between chemicals and diseases in the following passage:\n\n"
CHEMPROT = "Find all instances of relations between chemicals and proteins in the following passage:\n\n"
DDI = "Find all instances of drug-drug relations in the following passage:\n\n"
DCE = (
    "Find all instances of drugs used in combination and whether this combination had a positive impact "
    "on health in the following sentence:\n\n\n\n"
)
# (task, split, id, source start, target); every source ends in "\n\n".
EXPECTED = [
    (
        "cdr",
        "train",
        "10342929",
        CDR + "Angioedema due to ACE inhibitors: common and inadequately diagnosed. The estimated",
        "The relation between angiotensin-converting enzyme (ACE) inhibitor and angioedema exists.",
    ),
    (  # composite mentions: "visual toxicity" is a part of "visual or auditory toxicity"
        "cdr",
        "train",
        "2234245",
        CDR + "Ocular and auditory toxicity in hemodialyzed patients receiving desferrioxamine.",
        "The relation between desferrioxamine and pigmentary retinal deposits exists; The relation between "
        "desferrioxamine and visual toxicity exists; The relation between desferrioxamine and neurosensorial "
        "hearing loss exists.",
    ),
    (
        "cdr",
        "valid",
        "10565806",
        CDR + "Hypomania-like syndrome induced by olanzapine. We report",
        "The relation between olanzapine and hypomania exists.",
    ),
    (
        "cdr",
        "test",
        "6453500",
        CDR + "Toxic hepatitis induced by disulfiram in a non-alcoholic. A reversible toxic liver damage was "
        "observed in a non-alcoholic woman treated with disulfiram. The causative relationship was proven "
        "by challenge.\n\n",
        "The relation between disulfiram and toxic liver damage exists.",
    ),
    (
        "chemprot",
        "train",
        "23350847",
        CHEMPROT + "Pyrrolopyrazines as Selective Spleen Tyrosine Kinase Inhibitors. We describe",
        "the relation between pyrrolopyrazines and syk is downregulation; the relation between "
        "pyrrolopyrazines and spleen tyrosine kinase is downregulation.",
    ),
    (
        "chemprot",
        "valid",
        "15787205",
        CHEMPROT + "[Change of dopamine transporter activity (DAT) during the action of bupropion",
        "the relation between bupropion and dopamine transporter is downregulation.",
    ),
    (
        "chemprot",
        "test",
        "8863950",
        CHEMPROT + "Hypoxemia associated with cimetidine therapy in a newborn infant.",
        "the relation between cimetidine and histamine h2 receptor is downregulation.",
    ),
    (
        "chemprot",
        "test",
        "23500411",
        CHEMPROT + 'Synthesis of C17-OH-north unit of ritterazine G via "Red-Ox" modifications',
        "No drug-gene relationships are established.",
    ),
    (
        "dce",
        "train",
        "f42c0f1b9c9ec6d9b76b4adbc90ce6b9",
        DCE + "Cost-effectiveness of ribociclib plus letrozole\n\n",
        "ribociclib and letrozole participate in a positive drug combination.",
    ),
    (
        "dce",
        "valid",
        "f69bd6ea16caddaaa4ec412cadbda9fc",
        DCE + "Then , doxorubicin with or without flavopiridol was injected .\n\n",
        "doxorubicin and flavopiridol participate in a positive drug combination.",
    ),
    (
        "dce",
        "test",
        "7639b3ca6251f63f76d161da9c24f217",
        DCE + "Long-term overall- and progression-free survival after pentos",
        "cyclophosphamide, rituximab, and pentostatin participate in a positive drug combination.",
    ),
    (
        "dce",
        "test",
        "84a375ec840963d68895d36ecd84f3c3",
        DCE + "Atracurium or vecuronium was given for intubation .\n\n",
        "No drug combinations are established.",
    ),
    (
        "ddi2013",
        "train",
        "DDI-DrugBank.d96",
        DDI + "Dimenhydrinate may decrease emetic response to apomorphine.\n\n",
        "the relation between Dimenhydrinate and apomorphine is effect.",
    ),
    (
        "ddi2013",
        "train",
        "DDI-DrugBank.d436",
        DDI + "No drug, nutritional supplement, food or herb interactions have yet been reported.\n\n",
        "No drug-drug interactions are established.",
    ),
    (
        "ddi2013",
        "valid",
        "DDI-DrugBank.d65",
        DDI + "Sulfacetamide preparations are incompatible with silver preparations.\n\n",
        "the relation between Sulfacetamide and silver is interaction.",
    ),
    (
        "ddi2013",
        "test",
        "DDI-DrugBank.d605",
        DDI + "SKELAXIN may enhance the effects of alcohol, barbiturates and other CNS depressants.\n\n",
        "the relation between SKELAXIN and alcohol is effect; the relation between SKELAXIN and barbiturates "
        "is effect; the relation between SKELAXIN and CNS depressants is effect.",
    ),
    (  # discontinuous entities "nonheme iron" (83-89;100-103) are named by their first fragment
        "ddi2013",
        "test",
        "DDI-MedLine.d169",
        DDI + "Calcium does not inhibit the absorption of 5 m",
        "the relation between Calcium and nonheme is mechanism; the relation between Calcium and heme iron "
        "is mechanism; the relation between calcium and iron is mechanism; the relation between Calcium and "
        "nonheme iron is mechanism; the relation between calcium and heme iron is mechanism; the relation "
        "between calcium and nonheme is mechanism; the relation between calcium and heme is mechanism.",
    ),
]


@pytest.mark.parametrize(("name", "split", "doc_id", "source", "target"), EXPECTED)
def test_examples_render_as_the_study(
    shared_data: Path, name: str, split: str, doc_id: str, source: str, target: str
) -> None:
    example = next(e for e in _split(shared_data, name, split).examples if e.id == doc_id)
    assert example.source.startswith(source) and example.source.endswith("\n\n")
    assert example.target == target


def test_cdr_names_composite_parts_and_chooses_the_rendered_name(shared_data: Path) -> None:
    example = next(e for e in _split(shared_data, "cdr", "train").examples if e.id == "2234245")
    names = (
        "visual toxicity",
        "Ocular and auditory toxicity",
        "Ocular toxicity",
        "audiovisual toxicity",
        "visual or auditory toxicity",
        "Visual toxicity",
        "a loss of visual acuity",
    )
    assert example.relations[1] == StudyRelation((("desferrioxamine", "Desferrioxamine"), names), "CID")
    longest = next(
        e for e in _split(shared_data, "cdr", "train", mention="longest").examples if e.id == "2234245"
    )
    # "visual or auditory toxicity" is as long: the first of the longest wins
    assert longest.relations[1].names == ("desferrioxamine", "Ocular and auditory toxicity")


# Targets whose clauses do not read back as their relations: a name containing " and " (or, for
# ChemProt, ", " inside a list) is split by the study's greedy regular expressions.
ROUND_TRIP_EXCEPTIONS = {
    ("cdr", "train"): {
        "2696505",
        "3997294",
        "16574712",
        "19631624",
        "11587867",
        "18081909",
        "19957053",
        "19729346",
        "17439425",
        "18821488",
        "2334618",
        "18544179",
        "15863244",
        "3403780",
        "20477932",
        "20667451",
    },
    ("cdr", "valid"): {"17943461", "9952311", "21418164", "14745746", "19274460", "2594614"},
    ("cdr", "test"): {
        "19681452",
        "733189",
        "1280054",
        "7479194",
        "8829135",
        "9061777",
        "17384765",
        "20046642",
    },
    ("chemprot", "train"): {
        "10328230",
        "22931530",
        "23305850",
        "10446934",
        "23623751",
        "14680444",
        "10530931",
        "23022324",
        "16303771",
    },
    ("chemprot", "valid"): {"16769115", "23123298", "23376249"},
    ("chemprot", "test"): {"10658902", "11588409", "18574460", "23232060", "23239555", "23296102", "3735252"},
}


@pytest.mark.parametrize("name", STUDY_TASKS)
def test_gold_targets_extract_back_to_their_relations(shared_data: Path, name: str) -> None:
    config = make_task_settings(name, data_dir=str(shared_data))
    template = study_template(config)

    def keys(relations: list[StudyRelation]) -> set[object]:
        return {template.key(StudyRelation(tuple((n,) for n in r.names), r.label)) for r in relations}

    for split in SPLITS:
        failing = {
            e.id
            for e in _split(shared_data, name, split).examples
            if keys(template.extract(e.target)) != keys(list(e.relations))
        }
        assert failing == ROUND_TRIP_EXCEPTIONS.get((name, split), set())


def test_dce_official_classes_merge_comb_and_neg(shared_data: Path) -> None:
    labels = {
        r.label
        for e in _split(shared_data, "dce", "test", dce_classes="official").examples
        for r in e.relations
    }
    assert labels == {"POS", "COMB/NEG"}
    study = {r.label for e in _split(shared_data, "dce", "test").examples for r in e.relations}
    assert study == {"POS", "COMB"}


def test_template_text_lists_the_template_words(shared_data: Path) -> None:
    text = template_text(make_task_settings("chemprot", data_dir=str(shared_data)), [])
    assert "the relation between  and  is substrate and/or product" in text
    assert "No drug-gene relationships are established." in text


def _copy(shared_data: Path, tmp_path: Path, relative: str) -> Path:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_data / relative, target)
    return target


def test_malformed_records_are_skipped_with_a_reason(shared_data: Path, tmp_path: Path) -> None:
    pubtator = _copy(shared_data, tmp_path, "BC5CDR/raw/CDR_Data/CDR_TestSet.PubTator.txt")
    lines = pubtator.read_text(encoding="utf8").splitlines(keepends=True)
    pubtator.write_text("".join(line for line in lines if not line.startswith("6453500|t|")), encoding="utf8")
    cdr = load_task_split(make_task_settings("cdr", data_dir=str(tmp_path)), "test")
    assert [(s.record_id, s.reason) for s in cdr.skipped] == [
        ("6453500", "line 5685: document without a title (|t|) or abstract (|a|) line")
    ]
    assert len(cdr.examples) == 499

    dce = _copy(shared_data, tmp_path, "DCE/raw/final_test_set.jsonl")
    dce.write_text(dce.read_text(encoding="utf8") + '{"doc_id": "broken", "sentence": 3}\n', encoding="utf8")
    result = load_task_split(make_task_settings("dce", data_dir=str(tmp_path)), "test")
    assert [(s.record_id, s.reason) for s in result.skipped] == [
        ("broken", "line 273: field 'sentence' is int, expected str")
    ]

    folder = "ChemProt/raw/chemprot_development/"
    for name in ("abstracts", "entities", "gold_standard"):
        _copy(shared_data, tmp_path, f"{folder}chemprot_development_{name}.tsv")
    gold = tmp_path / f"{folder}chemprot_development_gold_standard.tsv"
    gold.write_text(gold.read_text(encoding="utf8") + "15787205\tCPR:4\tArg1:T99\tArg2:T1\n", encoding="utf8")
    chemprot = load_task_split(make_task_settings("chemprot", data_dir=str(tmp_path)), "valid")
    assert [s.record_id for s in chemprot.skipped] == ["15787205"]
    assert "'Arg1:T99' is not Arg1:<id of an entity of the abstract>" in chemprot.skipped[0].reason

    for part in ("DrugBank", "MedLine"):
        (tmp_path / f"DDI2013/DDICorpus/Test/Test for DDI Extraction task/{part}").mkdir(parents=True)
    broken = tmp_path / "DDI2013/DDICorpus/Test/Test for DDI Extraction task/MedLine/1.xml"
    broken.write_text("<document id='x'><sentence id='x.s0'/></document>", encoding="utf8")
    ddi = load_task_split(make_task_settings("ddi2013", data_dir=str(tmp_path)), "test")
    assert [(s.record_id, s.reason) for s in ddi.skipped] == [("1.xml", "sentence 'x.s0' has no text")]


def test_missing_files_are_named(tmp_path: Path) -> None:
    for name, fragment in (
        ("cdr", "CDR_TestSet.PubTator.txt"),
        ("chemprot", "chemprot_test_abstracts_gs.tsv"),
        ("dce", "final_test_set.jsonl"),
        ("ddi2013", "Test for DDI Extraction task"),
    ):
        with pytest.raises(FileNotFoundError, match=fragment):
            load_task_split(make_task_settings(name, data_dir=str(tmp_path)), "test")
