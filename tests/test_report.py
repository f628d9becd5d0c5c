"""``biogpt.report``: a Hydra multirun sweep gathered into a table, a CSV and a plot.

Sweeps are built in ``tmp_path`` with the layout Hydra writes (``hydra.sweep.subdir`` set to the
override dirname, so ``experiment=paper/kd_dti`` nests a directory) and metrics from a known formula;
expected means and stds are computed here independently with :mod:`statistics`.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

import matplotlib.image
import pytest
import yaml
from project_commands import run_project

from biogpt.experiment.reports.command import main
from biogpt.experiment.reports.sweep import (
    ReportError,
    choose_metric,
    choose_x,
    collect_runs,
    metric_order,
    parse_override,
    plot,
    render_csv,
    render_markdown,
    summarise,
    write_report,
)

FORMATS = ("svo", "rel-is")
LENGTHS = (13, 5, 9)  # written out of order: rows must still come out 5, 9, 13
SEEDS = (1, 2, 3)
COMMON = ["experiment=paper/kd_dti", "++trainer.max_epochs=3", "prompt.text='in conclusion, the'"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_job(
    root: Path, overrides: list[str], metrics: dict[str, float] | None, parse_failures: int = 0
) -> Path:
    """One job as Hydra lays it out: ``<override dirname>/.hydra/overrides.yaml`` (+ ``metrics.json``)."""
    job = root / ",".join(overrides)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides), encoding="utf-8")
    if metrics is not None:
        summary = {
            "task": "kd-dti",
            "split": "test",
            "examples": 20,
            "parse_failures": parse_failures,
            "metrics": metrics,
        }
        (job / "metrics.json").write_text(json.dumps(summary), encoding="utf-8")
    return job


def relation_metrics(target_format: str, length: int, seed: int) -> dict[str, float]:
    """Known, seed-dependent values (seeds spread unevenly, so every std differs)."""
    base = 0.30 + 0.01 * length + (0.05 if target_format == "svo" else 0.0)
    return {
        "f1": base + 0.004 * seed**2,
        "recall": base - 0.02 + 0.003 * seed,
        "precision": base + 0.02 - 0.001 * seed**3,
        "tp": float(10 * length + seed),
    }


def failures(length: int, seed: int) -> int:
    return length + seed


@pytest.fixture()
def sweep(tmp_path: Path) -> Path:
    """2 target formats x 3 prompt lengths x 3 seeds, plus overrides common to every job."""
    root = tmp_path / "multirun"
    for target_format in FORMATS:
        for length in LENGTHS:
            for seed in SEEDS:
                overrides = [
                    COMMON[0],
                    f"target_format={target_format}",
                    f"+prompt.length={length}",
                    f"seed={seed}",
                    *COMMON[1:],
                ]
                write_job(
                    root, overrides, relation_metrics(target_format, length, seed), failures(length, seed)
                )
    (root / "multirun.yaml").write_text("hydra: {}\n", encoding="utf-8")
    return root


def expected(target_format: str, length: int, metric: str) -> tuple[float, float]:
    values = [relation_metrics(target_format, length, seed)[metric] for seed in SEEDS]
    return statistics.mean(values), statistics.stdev(values)


def test_parse_override_splits_on_first_equals_and_strips_plus() -> None:
    assert parse_override("prompt.text='a=b, c'") == ("prompt.text", "'a=b, c'")
    assert parse_override("++trainer.max_epochs=3") == ("trainer.max_epochs", "3")
    assert parse_override("+prompt.length=5") == ("prompt.length", "5")


def test_metric_columns_follow_the_paper_then_alphabetical() -> None:
    names = ["tp", "f1_of_means", "f1", "macro_f1", "recall", "accuracy", "precision", "perplexity", "loss"]
    assert metric_order(names) == (
        "precision",
        "recall",
        "f1",
        "accuracy",
        "macro_f1",
        "loss",
        "perplexity",
        "f1_of_means",
        "tp",
    )


def test_seeds_are_grouped_with_mean_and_sample_std(sweep: Path) -> None:
    runs = collect_runs(sweep)
    assert len(runs) == len(FORMATS) * len(LENGTHS) * len(SEEDS)
    table = summarise(runs)
    assert table.keys == ("target_format", "prompt.length")
    assert table.metrics == ("precision", "recall", "f1", "tp")
    # Rows sorted by setting, text alphabetically and numbers numerically (5 before 13).
    assert [row.setting for row in table.rows] == [
        (target_format, str(length)) for target_format in ("rel-is", "svo") for length in (5, 9, 13)
    ]
    for row in table.rows:
        target_format, length = row.setting[0], int(row.setting[1])
        assert row.n == 3 and row.seeds == ("1", "2", "3")
        for metric in table.metrics:
            mean, std = expected(target_format, length, metric)
            assert row.metrics[metric].mean == pytest.approx(mean, abs=1e-12)
            assert row.metrics[metric].std == pytest.approx(std, abs=1e-12)
        assert row.parse_failures == pytest.approx(statistics.mean(failures(length, s) for s in SEEDS))


def test_common_overrides_are_factored_out(sweep: Path) -> None:
    table = summarise(collect_runs(sweep))
    assert table.common == {
        "experiment": "paper/kd_dti",
        "trainer.max_epochs": "3",
        "prompt.text": "'in conclusion, the'",
    }
    markdown = render_markdown(table)
    common = "common: `experiment=paper/kd_dti`, `trainer.max_epochs=3`, `prompt.text='in conclusion, the'`"
    assert common in markdown.splitlines()
    header = next(line for line in markdown.splitlines() if line.startswith("| "))
    assert header == (
        "| target_format | prompt.length | n | precision (%) | recall (%) | f1 (%) | tp | parse failures |"
    )


def test_markdown_shows_percentages_in_numeric_row_order(sweep: Path) -> None:
    markdown = render_markdown(summarise(collect_runs(sweep)))
    rows = [line for line in markdown.splitlines() if line.startswith("| svo |")]
    assert [row.split(" | ")[1] for row in rows] == ["5", "9", "13"]
    mean, std = expected("svo", 5, "f1")
    tp_mean, tp_std = expected("svo", 5, "tp")
    assert rows[0].split(" | ")[5] == f"{100 * mean:.2f} ± {100 * std:.2f}"
    assert rows[0].split(" | ")[6] == f"{tp_mean:.2f} ± {tp_std:.2f}"  # a count is not scaled
    assert rows[0].endswith(f" | {statistics.mean(failures(5, s) for s in SEEDS):.1f} |")


def test_a_single_seed_shows_its_value_without_spread(tmp_path: Path) -> None:
    write_job(tmp_path, ["target_format=svo", "seed=1"], {"accuracy": 0.5, "macro_f1": 0.25})
    write_job(tmp_path, ["target_format=is-of", "seed=1"], {"accuracy": 0.75, "macro_f1": 0.5})
    table = summarise(collect_runs(tmp_path))
    assert [row.metrics["accuracy"].std for row in table.rows] == [None, None]
    markdown = render_markdown(table)
    assert "| is-of | 1 | 75.00 | 50.00 | 0.0 |" in markdown and "±" not in markdown.split("Values are")[0]
    assert choose_metric(table) == "accuracy"
    rows = list(csv.DictReader(io.StringIO(render_csv(table))))
    assert rows[0]["accuracy_std"] == "" and float(rows[0]["accuracy_mean"]) == 0.75


def test_a_sweep_over_seeds_only_is_one_row_with_seeds_in_numeric_order(tmp_path: Path) -> None:
    values = {10: 0.5, 2: 0.25, 1: 0.75}
    for seed, f1 in values.items():
        write_job(tmp_path, ["task=ddi", f"seed={seed}"], {"f1": f1})
    table = summarise(collect_runs(tmp_path))
    assert table.keys == () and table.common == {"task": "ddi"}
    (row,) = table.rows
    assert row.seeds == ("1", "2", "10")
    assert row.metrics["f1"].mean == pytest.approx(statistics.mean(values.values()))
    assert row.metrics["f1"].std == pytest.approx(statistics.stdev(values.values()))
    markdown = render_markdown(table)
    assert "| setting | n | f1 (%) | parse failures |" in markdown
    assert "| (all jobs) | 3 | 50.00 ± 25.00 | 0.0 |" in markdown
    assert write_report(table, tmp_path / "out").png.read_bytes()[:8] == PNG_SIGNATURE


def test_csv_parses_back_with_raw_values(sweep: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(summarise(collect_runs(sweep))))))
    assert len(rows) == 6
    assert list(rows[0]) == [
        "target_format",
        "prompt.length",
        "n",
        "seeds",
        "precision_mean",
        "precision_std",
        "recall_mean",
        "recall_std",
        "f1_mean",
        "f1_std",
        "tp_mean",
        "tp_std",
        "parse_failures_mean",
    ]
    for row in rows:
        assert row["n"] == "3" and row["seeds"] == "1;2;3"
        for metric in ("precision", "recall", "f1", "tp"):
            mean, std = expected(row["target_format"], int(row["prompt.length"]), metric)
            assert float(row[f"{metric}_mean"]) == pytest.approx(mean, abs=1e-12)
            assert float(row[f"{metric}_std"]) == pytest.approx(std, abs=1e-12)


def test_line_plot_draws_one_line_per_format_against_prompt_length(sweep: Path) -> None:
    table = summarise(collect_runs(sweep))
    assert choose_metric(table) == "f1" and choose_x(table) == "prompt.length"
    axes = plot(table, "f1", "prompt.length").axes[0]
    assert axes.get_xlabel() == "prompt.length"
    assert axes.get_ylabel().startswith("f1 (%)")
    legend = axes.get_legend()
    assert legend.get_title().get_text() == "target_format"
    assert [text.get_text() for text in legend.get_texts()] == ["target_format=rel-is", "target_format=svo"]
    lines = [container.lines[0] for container in axes.containers]  # the data line of each errorbar
    assert len(lines) == 2
    svo = lines[1]
    assert list(svo.get_xdata()) == [5, 9, 13]
    assert list(svo.get_ydata()) == pytest.approx([100 * expected("svo", n, "f1")[0] for n in (5, 9, 13)])


def test_write_report_writes_markdown_csv_and_a_valid_png(sweep: Path, tmp_path: Path) -> None:
    paths = write_report(summarise(collect_runs(sweep)), tmp_path / "out")
    assert paths.markdown.read_text(encoding="utf-8").startswith("# Sweep report")
    assert paths.csv.read_text(encoding="utf-8").startswith("target_format,prompt.length,n,seeds")
    assert paths.png.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(paths.png)
    assert image.shape[0] > 200 and image.shape[1] > 200
    assert image.std() > 0.01  # something was drawn


def test_bar_chart_when_no_swept_key_is_numeric(tmp_path: Path) -> None:
    for target_format in FORMATS:
        for seed in SEEDS:
            metrics = relation_metrics(target_format, 5, seed)
            write_job(tmp_path / "sweep", [f"target_format={target_format}", f"seed={seed}"], metrics)
    table = summarise(collect_runs(tmp_path / "sweep"))
    assert table.numeric_keys() == [] and choose_x(table) is None
    axes = plot(table, "f1", None).axes[0]
    bars = axes.patches
    assert len(bars) == 2
    assert [bar.get_height() for bar in bars] == pytest.approx(
        [100 * expected(target_format, 5, "f1")[0] for target_format in ("rel-is", "svo")]
    )
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "target_format=rel-is",
        "target_format=svo",
    ]
    paths = write_report(table, tmp_path / "out")
    assert paths.png.read_bytes()[:8] == PNG_SIGNATURE


def test_x_prefers_prompt_length_and_rejects_non_numeric_keys(tmp_path: Path) -> None:
    for shots in (8, 16):
        for length in (1, 3):
            target_format = "svo" if shots == 8 else "is-of"  # swept too, but not numeric
            overrides = [
                f"data.train_shots={shots}",
                f"prompt.length={length}",
                f"target_format={target_format}",
            ]
            write_job(tmp_path, overrides, {"f1": 0.5})
    table = summarise(collect_runs(tmp_path))
    assert table.numeric_keys() == ["data.train_shots", "prompt.length"]
    assert choose_x(table) == "prompt.length"
    assert choose_x(table, "data.train_shots") == "data.train_shots"
    with pytest.raises(ReportError, match="candidates: data.train_shots, prompt.length"):
        choose_x(table, "target_format")


def test_unknown_metric_lists_the_valid_ones(sweep: Path, tmp_path: Path) -> None:
    table = summarise(collect_runs(sweep))
    with pytest.raises(ReportError, match="valid metrics: precision, recall, f1, tp"):
        write_report(table, tmp_path / "out", metric="accuracy")
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_jobs_without_metrics_are_counted_and_listed(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failed = write_job(
        sweep, [COMMON[0], "target_format=svo", "+prompt.length=5", "seed=4", *COMMON[1:]], None
    )
    broken = write_job(
        sweep, [COMMON[0], "target_format=svo", "+prompt.length=9", "seed=4", *COMMON[1:]], None
    )
    (broken / "metrics.json").write_text('{"metrics": {"f1": 0.', encoding="utf-8")
    table = summarise(collect_runs(sweep))
    assert [run.directory for run in table.missing] == sorted([failed, broken])
    assert [row.n for row in table.rows] == [3] * 6  # the others still make the table
    markdown = render_markdown(table)
    assert "2 job(s) without metrics are left out of the table[^missing]." in markdown
    footnote = next(line for line in markdown.splitlines() if line.startswith("[^missing]: "))
    assert f"`{failed.relative_to(sweep).as_posix()}` (no metrics.json)" in footnote
    assert f"`{broken.relative_to(sweep).as_posix()}` (unreadable metrics.json" in footnote

    assert main([str(sweep)]) == 0
    err = capsys.readouterr().err
    assert "2 job(s)" in err and str(failed) in err and str(broken) in err


def test_no_metrics_at_all_is_an_error_naming_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "multirun"
    for seed in SEEDS:
        write_job(root, ["target_format=svo", f"seed={seed}"], None)
    with pytest.raises(ReportError, match="no job under .* has metrics"):
        summarise(collect_runs(root))
    assert main([str(root)]) == 1
    assert str(root) in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no Hydra job"):
        collect_runs(tmp_path / "empty")
    with pytest.raises(ReportError, match="not found"):
        collect_runs(tmp_path / "absent")


def test_an_overrides_file_that_is_not_yaml_is_one_error_line_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML parser's message spans four lines (the source line, a caret): the command prints one line
    with the file, line and column instead."""
    root = tmp_path / "multirun"
    job = write_job(root, ["target_format=svo", "seed=1"], {"f1": 0.5})
    overrides = job / ".hydra" / "overrides.yaml"
    overrides.write_text("- seed=1\n- [: :\n", encoding="utf-8")
    assert main([str(root)]) == 1
    assert capsys.readouterr().err == (
        f"error: {overrides}:2:4: not YAML (expected the node content, but found ':'); "
        "expected Hydra's list of overrides\n"
    )


def test_main_prints_the_table_and_the_three_paths(sweep: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    assert main([str(sweep), "--out", str(out), "--metric", "recall", "--x", "prompt.length"]) == 0
    stdout = capsys.readouterr().out
    assert "| target_format | prompt.length | n |" in stdout
    for name in ("report.md", "report.csv", "report.png"):
        assert str(out / name) in stdout.splitlines()
        assert (out / name).is_file()
    assert main([str(sweep), "--metric", "nope"]) == 1
    assert "valid metrics: precision, recall, f1, tp" in capsys.readouterr().err


def test_module_runs_from_the_command_line(sweep: Path) -> None:
    result = run_project(["-m", "biogpt.report", str(sweep)], timeout=120)
    assert (sweep / "report.md").read_text(encoding="utf-8") in result.stdout
    assert result.stdout.rstrip().endswith(str(sweep / "report.png"))
