"""``python -m biogpt.report <sweeps...> --layout study``: the domain-specificity study's Table 1 from
synthetic sweeps (Hydra's layout: a numbered directory per job with ``.hydra/overrides.yaml`` and the
``metrics.json`` evaluation writes): rows in the study's backbone order, columns dataset x setting, cells
mean ± std over seeds, missing jobs listed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import matplotlib.image
import yaml

from biogpt.experiment.reports.command import main
from biogpt.experiment.reports.study import render_study_csv, render_study_markdown, study_table
from biogpt.experiment.reports.sweep import collect_runs, summarise


def _job(sweep: Path, number: int, overrides: list[str], f1: float | None) -> None:
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if f1 is not None:
        metrics = {"tp": 1, "fp": 1, "fn": 1, "precision": f1, "recall": f1, "f1": f1}
        (job / "metrics.json").write_text(
            json.dumps({"split": "test", "metrics": metrics, "parse_failures": 0})
        )


def _sweeps(root: Path) -> list[Path]:
    """CDR few-shot (two backbones, 16/64 shots, 3 seeds, one job failed), CDR full, DDI full."""
    fewshot, full, ddi = root / "cdr" / "fewshot", root / "cdr" / "full", root / "ddi" / "full"
    number = 0
    # Written in an order the table must not follow: bart before flan-t5, 64 before 16.
    for model in ("facebook/bart-base", "google/flan-t5-base"):
        for shots in (64, 16):
            for seed in (0, 1, 2):
                f1 = (
                    None
                    if (model, shots, seed) == ("facebook/bart-base", 64, 2)
                    else 0.1 * seed + shots / 1000
                )
                overrides = [
                    "experiment=study/cdr",
                    f"model={model}",
                    f"data.train_shots={shots}",
                    f"seed={seed}",
                ]
                _job(fewshot, number, overrides, f1)
                number += 1
    _job(full, 0, ["experiment=study/cdr", "model=facebook/bart-base", "seed=0"], 0.5)
    _job(full, 1, ["experiment=study/cdr", "model=microsoft/biogpt", "seed=0"], 0.25)
    _job(ddi, 0, ["experiment=study/ddi", "model=google/flan-t5-base", "seed=0"], 0.75)
    return [fewshot, full, ddi]


def test_cells_are_mean_and_std_over_seeds_in_the_studys_order(tmp_path: Path) -> None:
    sweeps = _sweeps(tmp_path)
    study = study_table(summarise([run for sweep in sweeps for run in collect_runs(sweep)]))
    assert study.models == ("google/flan-t5-base", "facebook/bart-base", "microsoft/biogpt")
    assert study.columns == (("cdr", "16-shot"), ("cdr", "64-shot"), ("cdr", "full"), ("ddi", "full"))
    lines = render_study_markdown(study).splitlines()
    assert lines[0] == f"# Domain-specificity study, f1 (%): {tmp_path}"
    assert lines[2] == "| model | cdr 16-shot | cdr 64-shot | cdr full | ddi full |"
    # seeds 0, 1, 2: f1 = 0.1 * seed + shots / 1000, so mean 10 + shots / 10 and std 10 (percent).
    assert lines[4] == "| google/flan-t5-base | 11.60 ± 10.00 (n=3) | 16.40 ± 10.00 (n=3) | — | 75.00 (n=1) |"
    assert lines[5] == "| facebook/bart-base | 11.60 ± 10.00 (n=3) | 11.40 ± 7.07 (n=2) | 50.00 (n=1) | — |"
    assert lines[6] == "| microsoft/biogpt | — | — | 25.00 (n=1) | — |"
    footnote = lines[-1]
    assert (
        footnote.startswith("[^missing]: `cdr/fewshot/2` (no metrics.json)")
        and "1 job(s) without metrics" in lines[-3]
    )


def test_csv_holds_one_line_per_filled_cell_with_raw_values(tmp_path: Path) -> None:
    study = study_table(summarise([run for sweep in _sweeps(tmp_path) for run in collect_runs(sweep)]))
    rows = list(csv.DictReader(io.StringIO(render_study_csv(study))))
    assert [(row["model"], row["dataset"], row["setting"], row["n"]) for row in rows][:3] == [
        ("google/flan-t5-base", "cdr", "16-shot", "3"),
        ("google/flan-t5-base", "cdr", "64-shot", "3"),
        ("google/flan-t5-base", "ddi", "full", "1"),
    ]
    bart_64 = next(
        row for row in rows if row["model"] == "facebook/bart-base" and row["setting"] == "64-shot"
    )
    assert bart_64["seeds"] == "0;1" and float(bart_64["f1_mean"]) == 0.114 and bart_64["f1_std"] != ""
    assert len(rows) == 7


def test_the_command_gathers_several_sweeps_and_writes_the_three_files(tmp_path: Path, capsys) -> None:
    sweeps = _sweeps(tmp_path)
    assert main([*map(str, sweeps), "--layout", "study"]) == 0
    captured = capsys.readouterr()
    assert "| microsoft/biogpt | — | — | 25.00 (n=1) | — |" in captured.out
    assert "1 job(s) have no metrics" in captured.err and str(sweeps[0] / "2") in captured.err
    assert (tmp_path / "study.md").read_text() == render_study_markdown(
        study_table(summarise([run for sweep in sweeps for run in collect_runs(sweep)]))
    )
    assert (tmp_path / "study.csv").is_file()
    assert matplotlib.image.imread(tmp_path / "study.png").shape[2] in (3, 4)
