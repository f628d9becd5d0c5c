"""BC5CDR, KD-DTI and DDI readers on the real releases: counts, literal strings, order, round trips, errors.

Expected strings were derived by hand from the raw records and the release's rule
(examples/RE-*/rebuild_data.py in microsoft/BioGPT): lowercased "title abstract" (a space only, since
every title in these releases ends in punctuation), DDI's abstract alone; triplets of KD-DTI/DDI
sorted by ``text.find(original-case drug)`` (-1 first, stable), BC5CDR's relations as listed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from biogpt.data.formats import BC5CDR_RELATION, Triplet, get_format, parse_target, relation_to_verb
from biogpt.data.tasks import DEFAULT_EMPTY_TARGET, Example, TaskSplit, load_task_split, make_task_settings


@cache
def _load(data_dir: Path, task: str, split: str, **fields: Any) -> TaskSplit:
    return load_task_split(make_task_settings(task, data_dir=str(data_dir), **fields), split)


def _first(shared_data: Path, task: str, split: str) -> Example:
    return _load(shared_data, task, split).examples[0]


@pytest.mark.parametrize(
    ("task", "split", "examples", "dropped"),
    [
        ("bc5cdr", "train", 500, 0),
        ("bc5cdr", "valid", 500, 0),
        ("bc5cdr", "test", 500, 0),
        ("ddi", "train", 469, 195),
        ("ddi", "valid", 41, 9),
        ("ddi", "test", 191, 0),
        ("kd-dti", "valid", 1000, 0),
        ("kd-dti", "test", 1159, 0),
    ],
)
def test_document_counts(shared_data: Path, task: str, split: str, examples: int, dropped: int) -> None:
    result = _load(shared_data, task, split)
    assert (len(result.examples), len(result.dropped), result.skipped) == (examples, dropped, [])
    assert len({e.id for e in result.examples}) == examples


def test_document_order_and_ids_follow_the_file(shared_data: Path) -> None:
    raw = json.loads((shared_data / "DDI" / "raw" / "valid.json").read_text())
    result = _load(shared_data, "ddi", "valid")
    kept = [doc_id for doc_id, record in raw.items() if record["triples"]]
    assert [e.id for e in result.examples] == kept
    assert result.dropped == [doc_id for doc_id, record in raw.items() if not record["triples"]]


def test_bc5cdr_first_documents(shared_data: Path) -> None:
    train = _first(shared_data, "bc5cdr", "train")
    assert train.id == "227508"
    assert train.source.startswith(
        "naloxone reverses the antihypertensive effect of clonidine. in unanesthetized, spontaneously "
        "hypertensive rats the decrease in blood pressure"
    )
    assert train.source.endswith("the central control of sympathetic tone.")
    assert len(train.source) == 59 + 1 + 1075  # title, one space, abstract
    # D008750 has one mention (alpha-methyldopa), D007022 one (hypotensive)
    assert train.target == "the relation between alpha-methyldopa and hypotensive exists."
    assert train.triplets == (Triplet("alpha-methyldopa", BC5CDR_RELATION, "hypotensive"),)
    assert train.triplet_ids == (("D008750", "D007022"),)

    valid = _first(shared_data, "bc5cdr", "valid")
    assert valid.id == "6794356"
    assert valid.source.startswith(
        "tricuspid valve regurgitation and lithium carbonate toxicity in a newborn infant. a newborn"
    )
    assert valid.target == (
        "the relation between lithium carbonate and cyanosis exists; "
        "the relation between lithium carbonate and cardiac arrhythmia exists; "
        "the relation between lithium carbonate and neurologic depression exists."
    )
    assert valid.triplet_ids == (("D016651", "D003490"), ("D016651", "D001145"), ("D016651", "D003866"))

    test = _first(shared_data, "bc5cdr", "test")
    assert (test.id, test.target) == ("8701013", "the relation between famotidine and delirium exists.")
    assert test.source.startswith(
        "famotidine-associated delirium. a series of six cases. famotidine is a histamine"
    )


def test_ddi_first_documents(shared_data: Path) -> None:
    train = _first(shared_data, "ddi", "train")
    assert train.id == "DDI-DrugBank.d73"
    assert train.source.startswith(
        "catecholamine-depleting drugs (eg, reserpine) may have an additive effect"
    )
    assert train.source.endswith("used to treat the allergic reaction.") and len(train.source) == 1487
    # "Calcium channel blockers" and "Beta blockers" are not found in the lowercased text (-1): first
    assert train.target == (
        "the interaction between calcium channel blockers and tenormin is effect; "
        "the interaction between beta blockers and clonidine is effect; "
        "the interaction between reserpine and beta-blocking agent is effect; "
        "the interaction between beta blocker and clonidine is advise; "
        "the interaction between beta blockers and clonidine is advise; "
        "the interaction between indomethacin and beta blockers is effect."
    )
    valid = _first(shared_data, "ddi", "valid")
    assert valid.id == "DDI-DrugBank.d108"
    assert valid.target == (
        "the interaction between isocarboxazid and antabuse is advise; "
        "the interaction between isocarboxazid and disulfiram is advise; "
        "the interaction between mao inhibitor and disulfiram is effect; "
        "the interaction between isocarboxazid and psychotropic agents is advise."
    )
    test = _first(shared_data, "ddi", "test")
    assert test.id == "DDI-DrugBank.d700"
    assert test.source.startswith("antacids: absorption of a single dose of myfortic was decreased")
    assert test.target == (
        "the interaction between myfortic and magnesium is mechanism; "
        "the interaction between myfortic and aluminum is mechanism; "
        "the interaction between myfortic and antacids is advise; "
        "the interaction between myfortic and azathioprine is advise; "
        "the interaction between myfortic and mycophenolate mofetil is advise; "
        "the interaction between myfortic and cholestyramine is advise; "
        "the interaction between myfortic and activated charcoal is advise; "
        "the interaction between myfortic and live attenuated vaccines is advise; "
        "the interaction between contraceptives and myfortic is advise; "
        "the interaction between levonorgesterol and mycophenolate mofetil is mechanism."
    )


def test_kd_dti_first_documents(shared_data: Path) -> None:
    valid = _first(shared_data, "kd-dti", "valid")
    assert valid.id == "9108990"
    assert valid.source.startswith(
        "nadroparin calcium. a review of its pharmacology and clinical use in the prevention and "
        "treatment of thromboembolic disorders. nadroparin (nadroparin calcium) is a low molecular"
    )
    assert len(valid.source) == 126 + 1 + 2821
    # unmapped DrugBank ids are released as such
    assert (
        valid.target
        == "the interaction between drugbank####db08813 and drugbank####be0000280 is potentiator."
    )
    test = _first(shared_data, "kd-dti", "test")
    assert test.id == "11169165"
    assert test.source.startswith(
        "inhibition of rat brain monoamine oxidase activities by psoralen and isopsoralen: implications "
        "for the treatment of affective disorders. psoralen and isopsoralen, furocoumarins"
    )
    assert test.target == (
        "the interaction between psoralen and monoamine oxidase type a (mao-a) is inhibitor; "
        "the interaction between psoralen and monoamine oxidase type b (mao-b) is inhibitor."
    )


def test_kd_dti_train_is_missing_offline_and_named(shared_data: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"KD-DTI/raw/train\.json"):
        _load(shared_data, "kd-dti", "train")


def test_ddi_release_order_quirk(shared_data: Path) -> None:
    """Searching the original-case head in lowercased text reorders 179 of 469 DDI training documents."""
    released = _load(shared_data, "ddi", "train").examples
    appearance = _load(shared_data, "ddi", "train", order="appearance").examples
    assert [e.id for e in released] == [e.id for e in appearance]
    differing = sum(r.triplets != a.triplets for r, a in zip(released, appearance, strict=True))
    assert differing == 179
    assert appearance[0].target == (
        "the interaction between reserpine and beta-blocking agent is effect; "
        "the interaction between calcium channel blockers and tenormin is effect; "
        "the interaction between beta blockers and clonidine is effect; "
        "the interaction between beta blocker and clonidine is advise; "
        "the interaction between beta blockers and clonidine is advise; "
        "the interaction between indomethacin and beta blockers is effect."
    )


def test_keep_empty_documents(shared_data: Path) -> None:
    kept = _load(shared_data, "ddi", "train", keep_empty=True)
    assert (len(kept.examples), kept.dropped) == (664, [])
    empty = [e for e in kept.examples if not e.triplets]
    assert len(empty) == 195 and {e.target for e in empty} == {DEFAULT_EMPTY_TARGET}
    custom = _load(shared_data, "ddi", "valid", keep_empty=True, empty_target="none.")
    assert sum(e.target == "none." for e in custom.examples) == 9


# Documents whose default (release) parse differs from their gold triplets, because an entity holds
# a template word: e.g. BC5CDR 2696505's disease "increase in heart rate and cardiac output" is read
# as head "nitroprusside and increase in heart rate", tail "cardiac output".
RELEASE_AMBIGUOUS = {
    ("bc5cdr", "train", "rel-is"): [
        "2696505",
        "16574712",
        "18081909",
        "15009014",
        "19729346",
        "17439425",
        "10091617",
        "18544179",
        "15863244",
        "2071257",
    ],
    ("bc5cdr", "train", "svo"): [],
    ("ddi", "train", "rel-is"): [],
    ("ddi", "train", "svo"): [],
    ("ddi", "train", "is-of"): ["DDI-DrugBank.d188", "DDI-DrugBank.d333", "DDI-DrugBank.d291"],
    ("ddi", "train", "structured"): [],
    ("kd-dti", "valid", "rel-is"): ["25974391"],
    ("kd-dti", "valid", "is-of"): [],
    ("kd-dti", "valid", "structured"): [],
}


@pytest.mark.parametrize(("task", "split", "name"), sorted(RELEASE_AMBIGUOUS))
def test_round_trip_on_real_documents(shared_data: Path, task: str, split: str, name: str) -> None:
    examples = _load(shared_data, task, split, target_format=name).examples
    fmt = get_format(task, name)
    relations = sorted({t.relation for e in examples for t in e.triplets})
    entities = {name for e in examples for t in e.triplets for name in (t.head, t.tail)}
    default_kwargs = {"relations": relations} if fmt.needs_relations else {}
    differing = [
        e.id for e in examples if parse_target(e.target, fmt, **default_kwargs).triplets != e.triplets
    ]
    assert differing == RELEASE_AMBIGUOUS[task, split, name]
    for example in examples:
        informed = parse_target(example.target, fmt, relations=relations, entities=entities)
        assert informed.triplets == example.triplets and not informed.unparsed, example.id


def test_kd_dti_release_parse_of_and_in_target(shared_data: Path) -> None:
    example = next(e for e in _load(shared_data, "kd-dti", "valid").examples if e.id == "25974391")
    gold = Triplet("pmid25974391c34", "inhibitor", "bromodomain and phd finger containing 1 (brpf1)")
    assert example.triplets[1] == gold
    parsed = parse_target(example.target, get_format("kd-dti", "rel-is")).triplets
    assert parsed[0] == example.triplets[0]
    assert parsed[1] == Triplet(
        "pmid25974391c34 and bromodomain", "inhibitor", "phd finger containing 1 (brpf1)"
    )


def test_svo_round_trip_up_to_shared_verbs(shared_data: Path) -> None:
    """svo is lossy where two relations share a verb: KD-DTI "other" and "other/unknown"."""
    examples = _load(shared_data, "kd-dti", "valid", target_format="svo").examples
    fmt = get_format("kd-dti", "svo")
    relations = sorted({t.relation for e in examples for t in e.triplets})
    differing = []
    for example in examples:
        parsed = parse_target(example.target, fmt, relations=relations).triplets
        as_verbs = [(t.head, relation_to_verb(t.relation), t.tail) for t in parsed]
        assert as_verbs == [(t.head, relation_to_verb(t.relation), t.tail) for t in example.triplets]
        differing += [
            (g.relation, p.relation) for g, p in zip(example.triplets, parsed, strict=True) if g != p
        ]
    assert set(differing) == {("other/unknown", "other")} and len(differing) == 7


def _write(root: Path, dataset: str, split: str, payload: Any) -> Path:
    path = root / dataset / "raw" / f"{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return root


def test_malformed_records_are_counted_with_reasons(tmp_path: Path) -> None:
    good = {
        "abstract": "Aspirin and warfarin.",
        "triples": [{"drug": "aspirin", "target": "warfarin", "interaction": "effect"}],
    }
    root = _write(
        tmp_path,
        "DDI",
        "train",
        {
            "d0": good,
            "d1": ["not", "an", "object"],
            "d2": {"triples": []},
            "d3": {"abstract": "x", "triples": "aspirin"},
            "d4": {"abstract": "x", "triples": [{"drug": "a", "interaction": "effect"}]},
            "d5": {"abstract": "x", "triples": [{"drug": 3, "target": "b", "interaction": "effect"}]},
            "d6": {"abstract": "x", "triples": None},
            "d7": good,
        },
    )
    result = _load(root, "ddi", "train")
    assert [e.id for e in result.examples] == ["d0", "d7"]
    assert result.dropped == ["d6"]
    assert [(s.record_id, s.reason) for s in result.skipped] == [
        ("d1", "record is list, expected object"),
        ("d2", "missing field 'abstract'"),
        ("d3", "field 'triples' is str, expected list"),
        ("d4", "missing field 'target'"),
        ("d5", "field 'drug' is int, expected str"),
    ]


def test_bc5cdr_names_order_and_missing_mentions(tmp_path: Path) -> None:
    record = {
        "title": "No final punctuation",
        "abstract": "Later the drug B caused a and then drug A caused b.",
        "relations": [{"chemical": "C2", "disease": "D1"}, {"chemical": "C1", "disease": "D1"}],
        "chemical2id": {"drug b": "C2", "drug a": "C1", "ab": "C1", "bb": "C2"},
        "disease2id": {"a": "D1", "x": "D1", "abc": "D1"},
    }
    broken = dict(record, relations=[{"chemical": "C9", "disease": "D1"}])
    root = _write(tmp_path, "BC5CDR", "train", {"1": record, "2": broken})
    result = _load(root, "bc5cdr", "train")
    (example,) = result.examples
    assert example.source == "no final punctuation. later the drug b caused a and then drug a caused b."
    # longest mention per id ("drug b" over "bb", "abc" over "a"), relations in listed order
    assert (
        example.target
        == "the relation between drug b and abc exists; the relation between drug a and abc exists."
    )
    assert example.triplet_ids == (("C2", "D1"), ("C1", "D1"))
    assert [(s.record_id, s.reason) for s in result.skipped] == [
        ("2", "relations[0] id 'C9' has no mention in 'chemical2id'")
    ]


def test_bc5cdr_ties_keep_first_name_and_appearance_order(tmp_path: Path) -> None:
    record = {
        "title": "T.",
        "abstract": "zz then yy.",
        "relations": [
            {"chemical": "C1", "disease": "D1"},
            {"chemical": "C2", "disease": "D1"},
            {"chemical": "C3", "disease": "D1"},
        ],
        "chemical2id": {"qq": "C1", "yy": "C2", "zz": "C3", "ww": "C2"},
        "disease2id": {"d": "D1"},
    }
    root = _write(tmp_path, "BC5CDR", "train", {"1": record})
    released = _load(root, "bc5cdr", "train").examples[0]
    assert [t.head for t in released.triplets] == ["qq", "yy", "zz"]
    # appearance: zz (0), yy (8), then qq, never mentioned, last
    appearance = _load(root, "bc5cdr", "train", order="appearance").examples[0]
    assert [t.head for t in appearance.triplets] == ["zz", "yy", "qq"]


def test_missing_data_root_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"BC5CDR/raw/valid\.json"):
        _load(tmp_path, "bc5cdr", "valid")


def test_non_object_file_is_an_error(tmp_path: Path) -> None:
    root = _write(tmp_path, "DDI", "test", [1, 2])
    with pytest.raises(ValueError, match="expected a JSON object"):
        _load(root, "ddi", "test")
