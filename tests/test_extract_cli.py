"""``biogpt-extract`` end to end: real PubMed XML, a task split as JSONL against ``evaluate.py``, two gloo
processes against one, and a run killed with SIGKILL and started again against an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from extraction_models import common_options
from project_commands import PROJECT, run_command, run_project

from biogpt.data.pubmed.corpus import iter_documents
from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.evaluation.parsing import parse_relation_generations
from biogpt.extraction.corpus import fold, read_shard


def _extract(arguments: list[str]) -> list[str]:
    return ["-m", "biogpt.extract", *arguments]


def _rows(out: Path) -> list[dict]:
    """Every shard's rows, rank by rank and shard by shard."""
    shards = sorted((out / "extractions").iterdir())
    return [row for shard in shards for row in read_shard(shard)]


def _ddi_examples(shared_data: Path) -> list:
    return load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples


def test_pubmed_xml_files_every_pmid_once_parsed_as_evaluate_parses_and_triples_recounted(
    tmp_path: Path, shared_data: Path, fine_tuned_ddi: Path
) -> None:
    pubmed = shared_data / "PubMed"
    out = tmp_path / "kb"
    result = run_project(
        _extract(
            [
                f"ckpt={fine_tuned_ddi}",
                f"input={pubmed}",
                f"out={out}",
                f"data_dir={shared_data}",
                "eval.generation.max_new_tokens=24",
                "progress=false",
            ]
        )
    )
    rows = _rows(out)
    expected = {citation.pmid: citation.text for citation in iter_documents([pubmed])}
    assert [row["id"] for row in rows] == list(expected)  # each PMID with an abstract, once, in input order
    # The relations are evaluate.py's parsing of the same generated texts.
    parsed = parse_relation_generations(
        make_task_settings("ddi", data_dir=str(shared_data)),
        _ddi_examples(shared_data),
        [r["generated"] for r in rows],
    )
    for row, result_ in zip(rows, parsed, strict=True):
        assert [[r["head"], r["type"], r["tail"]] for r in row["relations"]] == [
            [t.head, t.relation, t.tail] for t in result_.triplets
        ]
        assert row["parse_failed"] == result_.failed
        text = expected[row["id"]]
        for relation in row["relations"]:
            span = relation["head_span"]
            assert span is None or text[span[0] : span[1]].lower() == relation["head"].lower()
    # triples.tsv: a recount of the documents stating each folded triple.
    recount: Counter = Counter()
    for row in rows:
        recount.update({(fold(r["head"]), fold(r["type"]), fold(r["tail"])) for r in row["relations"]})
    lines = (out / "triples.tsv").read_text().splitlines()
    assert lines[0] == "head\ttype\ttail\tdocuments\tsupport"
    counted = {tuple(line.split("\t")[:3]): int(line.split("\t")[3]) for line in lines[1:]}
    assert counted == dict(recount) and sum(recount.values()) >= 1
    assert pq.read_table(out / "triples.parquet").num_rows == len(counted)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents"] == len(expected)
    assert summary["relations"] == sum(len(r["relations"]) for r in rows)
    assert summary["skipped_by_reason"] == {"without abstract": 1}  # the test file's item without one
    assert "documents/s" in result.stdout and (out / ".hydra" / "config.yaml").is_file()
    assert (out / "extract.log").is_file()


def test_a_task_split_as_jsonl_gives_evaluate_py_generated_texts(
    tmp_path: Path, shared_data: Path, token_cache: Path, fine_tuned_ddi: Path
) -> None:
    examples = _ddi_examples(shared_data)[:16]
    documents = tmp_path / "ddi-test.jsonl"
    documents.write_text("".join(json.dumps({"pmid": e.id, "abstract": e.source}) + "\n" for e in examples))
    ids = [e.id for e in examples]
    run_project(
        [
            "evaluate.py",
            *common_options(shared_data, token_cache),
            f"ckpt={fine_tuned_ddi}",
            f"eval.ids=[{','.join(ids)}]",
            f"hydra.run.dir={tmp_path / 'eval'}",
        ]
    )
    records = [
        json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()
    ]
    out = tmp_path / "kb"
    run_project(
        _extract(
            [
                f"ckpt={fine_tuned_ddi}",
                f"input={documents}",
                f"out={out}",
                f"data_dir={shared_data}",
                "id_field=pmid",
                "text_field=abstract",
                "format=jsonl",
                "progress=false",
            ]
        )
    )
    rows = _rows(out)
    assert [p.suffix for p in (out / "extractions").iterdir()] == [".jsonl"]
    assert [row["id"] for row in rows] == ids
    assert [row["generated"] for row in rows] == [record["generated"] for record in records]
    assert [[[r["head"], r["type"], r["tail"]] for r in row["relations"]] for row in rows] == [
        record["parsed"] for record in records
    ]


def _corpus(tmp_path: Path, shared_data: Path) -> Path:
    """20 DDI test texts, with a record without text and a repeated id (both skipped and counted)."""
    examples = _ddi_examples(shared_data)[:20]
    lines = [json.dumps({"id": e.id, "text": e.source}) for e in examples]
    lines.insert(5, json.dumps({"id": "empty", "text": "  "}))
    lines.insert(9, json.dumps({"id": examples[0].id, "text": "again"}))
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _options(corpus: Path, model: Path, shared_data: Path, out: Path) -> list[str]:
    return [
        f"ckpt={model}",
        f"input={corpus}",
        f"out={out}",
        f"data_dir={shared_data}",
        "shard_size=3",
        "window=2",
        "eval.batch_size=1",
        "eval.generation.max_new_tokens=24",
        "progress=false",
    ]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, fine_tuned_ddi: Path) -> Path:
    """One uninterrupted process over the corpus: what the other runs must reproduce."""
    directory = tmp_path_factory.mktemp("reference")
    out = directory / "kb"
    run_project(_extract(_options(_corpus(directory, shared_data), fine_tuned_ddi, shared_data, out)))
    return out


def _comparable(summary: dict) -> dict:
    timing = {"extraction_seconds", "documents_per_second", "generated_tokens_per_second", "wall_seconds"}
    return {key: value for key, value in summary.items() if key not in timing | {"processes"}}


def test_two_gloo_processes_write_disjoint_shards_whose_union_is_the_one_process_run(
    tmp_path: Path, shared_data: Path, fine_tuned_ddi: Path, reference_run: Path
) -> None:
    out = tmp_path / "kb"
    options = _options(_corpus(tmp_path, shared_data), fine_tuned_ddi, shared_data, out)
    run_project(_extract([*options, "trainer=ddp_cpu"]))
    rows = _rows(out)
    ranks = {p.name[:9] for p in (out / "extractions").iterdir()}
    assert ranks == {"rank00000", "rank00001"}
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))  # no document twice
    reference = _rows(reference_run)
    assert sorted(rows, key=lambda row: row["position"]) == reference
    assert (out / "triples.tsv").read_text() == (reference_run / "triples.tsv").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2
    assert _comparable(summary) == _comparable(json.loads((reference_run / "summary.json").read_text()))
    assert summary["skipped_by_reason"] == {"no 'text' text": 1, "repeated id": 1}


def test_a_run_killed_with_sigkill_continues_to_the_output_of_an_uninterrupted_run(
    tmp_path: Path, shared_data: Path, fine_tuned_ddi: Path, reference_run: Path
) -> None:
    out = tmp_path / "kb"
    command = [
        sys.executable,
        *_extract(_options(_corpus(tmp_path, shared_data), fine_tuned_ddi, shared_data, out)),
    ]
    process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while len(list((out / "manifest").glob("*.json"))) < 2 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = len(list((out / "manifest").glob("*.json")))
    assert 2 <= written < 7 and not (out / "summary.json").exists()  # killed part-way (7 shards in all)
    run_project(command[1:])
    assert _rows(out) == _rows(reference_run)
    assert sorted(p.name for p in (out / "extractions").iterdir()) == sorted(
        p.name for p in (reference_run / "extractions").iterdir()
    )
    assert (out / "triples.tsv").read_text() == (reference_run / "triples.tsv").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert _comparable(summary) == _comparable(json.loads((reference_run / "summary.json").read_text()))


def test_a_bad_option_ends_with_one_error_line(
    tmp_path: Path, shared_data: Path, fine_tuned_ddi: Path
) -> None:
    documents = tmp_path / "docs.jsonl"
    documents.write_text(json.dumps({"id": "1", "text": "aspirin"}) + "\n")
    for bad, named in (("format=csv", "format='csv'"), (f"input={tmp_path / 'nowhere'}", "input=")):
        arguments = [f"ckpt={fine_tuned_ddi}", f"input={documents}", f"out={tmp_path / 'kb'}", bad]
        result = run_command(_extract(arguments), timeout=300)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr


def test_the_slurm_launcher_composes_for_a_multi_node_extraction(tmp_path: Path) -> None:
    """The submitit launcher takes its nodes from the trainer and writes under ``out`` (no cluster needed)."""
    arguments = ["hydra/launcher=slurm", "trainer=ddp", "trainer.num_nodes=2", "hydra.launcher.partition=gpu"]
    arguments += ["ckpt=model", "input=corpus", f"out={tmp_path / 'kb'}", "--cfg", "all", "--resolve"]
    result = run_project(_extract(arguments), timeout=120)
    assert "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in result.stdout
    assert "nodes: 2" in result.stdout and "gpus_per_node: 8" in result.stdout
    assert f"dir: {tmp_path / 'kb'}" in result.stdout
