"""The synthetic demo sample in demo/: reproducible from its generator, read cleanly by the readers."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from biogpt.data.formats import get_format, parse_target
from biogpt.data.pubmed.corpus import PubmedCounts, iter_documents, main
from biogpt.data.pubmed.records import Citation, iter_records
from biogpt.data.tasks import TaskSplit, load_task_split, make_task_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO = PROJECT_ROOT / "demo"
DEMO_DATA = DEMO / "data"
SPLIT_SIZES = {"train": 160, "valid": 24, "test": 24}
PUBMED_CITATIONS = 400
PUBMED_WITHOUT_ABSTRACT = 2
INTERACTIONS = ("inhibitor", "antagonist", "agonist", "activator", "binder", "blocker", "modulator")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_make_sample", DEMO / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def _split(split: str, target_format: str = "rel-is") -> TaskSplit:
    config = make_task_settings("kd-dti", data_dir=str(DEMO_DATA), target_format=target_format)
    return load_task_split(config, split)


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    written = _generator().write_sample(tmp_path)
    assert sorted(str(path.relative_to(tmp_path / "data")) for path in written) == [
        "KD-DTI/raw/test.json",
        "KD-DTI/raw/train.json",
        "KD-DTI/raw/valid.json",
        "PubMed/demo_pubmed.xml",
    ]
    regenerated, committed = _files(tmp_path / "data"), _files(DEMO_DATA)
    assert regenerated.keys() == committed.keys()
    for name, content in committed.items():
        assert regenerated[name] == content, f"demo/data/{name} differs from its regeneration"


def test_sample_stays_small() -> None:
    shipped = [path for path in DEMO.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    assert sum(path.stat().st_size for path in shipped) < 1_000_000


@pytest.mark.parametrize(("split", "size"), SPLIT_SIZES.items())
def test_kd_dti_splits_load_without_skips(split: str, size: int) -> None:
    result = _split(split)
    assert (len(result.examples), result.skipped, result.dropped) == (size, [], [])
    raw = json.loads((DEMO_DATA / "KD-DTI" / "raw" / f"{split}.json").read_text(encoding="utf8"))
    assert [example.id for example in result.examples] == list(raw)
    for example in result.examples:
        assert example.id.startswith("99"), "synthetic ids start with 99"
        assert 1 <= len(example.triplets) <= 3
        for triplet in example.triplets:
            assert triplet.head in example.source and triplet.tail in example.source, (example.id, triplet)
            assert triplet.relation in INTERACTIONS
        # The release's order rule (first mention of the drug) is the order of mention here.
        positions = [example.source.find(triplet.head) for triplet in example.triplets]
        assert positions == sorted(positions)


@pytest.mark.parametrize("target_format", ["rel-is", "svo", "is-of", "structured"])
def test_targets_parse_back_in_every_format(target_format: str) -> None:
    fmt = get_format("kd-dti", target_format)
    for split in SPLIT_SIZES:
        for example in _split(split, target_format).examples:
            parsed = parse_target(example.target, fmt, relations=INTERACTIONS)
            assert (parsed.triplets, parsed.unparsed) == (example.triplets, ()), example.id


def test_splits_share_no_document() -> None:
    ids: dict[str, set[str]] = {}
    texts: dict[str, set[str]] = {}
    for split in SPLIT_SIZES:
        examples = _split(split).examples
        ids[split] = {example.id for example in examples}
        texts[split] = {example.source for example in examples}
        assert len(texts[split]) == len(examples)
    for first, second in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not ids[first] & ids[second]
        assert not texts[first] & texts[second]
    assert {
        label
        for split in SPLIT_SIZES
        for e in _split(split).examples
        for label in {t.relation for t in e.triplets}
    } == set(INTERACTIONS)


def test_pubmed_sample_builds_the_corpus() -> None:
    counts = PubmedCounts()
    documents = list(iter_documents([DEMO_DATA / "PubMed"], counts=counts))
    kept = PUBMED_CITATIONS - PUBMED_WITHOUT_ABSTRACT
    assert counts == PubmedCounts(read=PUBMED_CITATIONS, kept=kept, without_abstract=PUBMED_WITHOUT_ABSTRACT)
    assert len(documents) == len({document.pmid for document in documents}) == kept
    assert all(
        document.pmid.startswith("99") and document.title and document.abstract for document in documents
    )
    # Inline <sub> markup reads as plain text; every date lies before the paper's 2021 cut-off.
    assert any("IC50" in document.abstract for document in documents)
    assert all(document.date_revised < "2021-01-01" for document in documents)
    revised = PubmedCounts()
    assert (
        len(list(iter_documents([DEMO_DATA / "PubMed"], revised_before=date(2021, 1, 1), counts=revised)))
        == kept
    )


def test_pubmed_sample_has_structured_abstracts() -> None:
    records = list(iter_records(DEMO_DATA / "PubMed" / "demo_pubmed.xml", keep_labels=True))
    assert len(records) == PUBMED_CITATIONS and all(isinstance(record, Citation) for record in records)
    structured = [record for record in records if record.abstract.startswith("BACKGROUND: ")]
    assert 50 <= len(structured) <= 150
    assert all("CONCLUSIONS: " in record.abstract for record in structured)


def test_pubmed_cli_writes_the_demo_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datasets import load_from_disk

    main(["--out", str(tmp_path / "corpus"), str(DEMO_DATA / "PubMed")])
    assert "kept: 398" in capsys.readouterr().out
    corpus = load_from_disk(str(tmp_path / "corpus"))
    assert len(corpus) == PUBMED_CITATIONS - PUBMED_WITHOUT_ABSTRACT
    assert corpus[0]["pmid"] == "990001"
