"""End to end through ``train.py`` with ``transformers`` backbones: a tiny GPT-2 (decoder-only, soft
prompt) and a tiny T5 (encoder-decoder, hard prompt on the encoder side) memorise 4 DDI documents
and score F1 = 1.0 on them; a 2-backbone x 2-seed multirun builds its report with the model in the rows.

The models are random, 64 wide, built by :mod:`tests.family_models` as hub-style directories (GPT-2
with the real GPT-2 vocabulary; T5 with a SentencePiece model trained on the DDI texts), and reach the
framework through ``model.init=<directory>``, as any hub checkpoint would.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from family_models import family_model_dir
from project_commands import run_command, run_project

from biogpt.data.tasks import load_task_split, task_settings_class

# Run at interpreter start-up (sitecustomize): transformers looks uninstalled to imports and to the
# package metadata that optional-dependency checks (lightning, torchmetrics) read.
HIDE_TRANSFORMERS = """
import importlib.abc, importlib.metadata, sys

class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "transformers":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Uninstalled())
_version, _distribution = importlib.metadata.version, importlib.metadata.distribution

def _hide(lookup):
    def hidden(name):
        if name == "transformers":
            raise importlib.metadata.PackageNotFoundError(name)
        return lookup(name)
    return hidden

importlib.metadata.version, importlib.metadata.distribution = _hide(_version), _hide(_distribution)
"""


@pytest.fixture(scope="module")
def backbones(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    """Tiny GPT-2 and T5 model directories; T5's vocabulary is learned from the DDI test texts."""
    root = tmp_path_factory.mktemp("backbones")
    ddi = load_task_split(task_settings_class("ddi")(name="ddi", data_dir=str(shared_data)), "test").examples
    texts = [example.source for example in ddi] + [example.target for example in ddi]
    return {
        "gpt2": family_model_dir("gpt2", root / "gpt2", shared_data, width=64),
        "t5": family_model_dir("t5", root / "t5", shared_data, texts=texts, width=64, vocab_size=2000),
    }


def _train(
    arguments: list[str], shared_data: Path, cache: Path, *, multirun: bool = False
) -> subprocess.CompletedProcess[str]:
    return run_project(
        [
            "train.py",
            *(["-m"] if multirun else []),
            f"data_dir={shared_data}",
            f"data.cache_dir={cache}",
            "task=ddi",
            "task.max_source_positions=32",
            "data.splits.train=test",
            "logger={}",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            *arguments,
        ]
    )


@pytest.mark.parametrize(
    ("family", "options"),
    [
        ("gpt2", ["prompt=soft", "prompt.length=3"]),
        ("t5", ["prompt=hard", "prompt.text='interactions:'"]),
    ],
)
def test_a_tiny_backbone_memorises_four_documents(
    family: str,
    options: list[str],
    backbones: dict[str, Path],
    tmp_path: Path,
    shared_data: Path,
    token_cache: Path,
) -> None:
    run = tmp_path / "run"
    _train(
        ["debug=overfit", f"model.init={backbones[family]}", *options, f"hydra.run.dir={run}"],
        shared_data,
        token_cache,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["examples"] == 4 and metrics["parse_failures"] == 0
    # The run stopped because the examples were memorised, before the cap of epochs.
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["metrics"]["train/min_token_probability"] >= 0.6
    assert metrics["metrics"]["f1"] == 1.0, (run / "predictions.jsonl").read_text()[:2000]
    # final/ is a transformers directory of the same family, with its tokenizer and prompt.
    config = json.loads((run / "final" / "config.json").read_text())
    assert config["model_type"] == family
    assert (run / "final" / "tokenizer.json").is_file() and (run / "final" / "prompt.json").is_file()


def test_soft_prompt_on_an_encoder_decoder_is_refused_with_the_choices(
    backbones: dict[str, Path], tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    result = run_command(
        [
            "train.py",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
            "task=ddi",
            f"model.init={backbones['t5']}",
            "prompt=soft",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        timeout=600,
    )
    assert result.returncode != 0
    assert "prompt=soft needs a decoder-only backbone" in result.stderr and "prompt=hard" in result.stderr


def test_two_backbones_by_two_seeds_multirun_builds_its_report(
    backbones: dict[str, Path], tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    sweep = tmp_path / "sweep"
    _train(
        [
            "debug=fast",
            "prompt=hard",
            "prompt.text='interactions:'",
            f"model.init={backbones['gpt2']},{backbones['t5']}",
            "seed=1,2",
            "eval.limit=2",
            "eval.generation.max_new_tokens=8",
            f"hydra.sweep.dir={sweep}",
        ],
        shared_data,
        token_cache,
        multirun=True,
    )
    jobs = sorted(path.parent.parent for path in sweep.rglob(".hydra/overrides.yaml"))
    assert len(jobs) == 4 and all((job / "metrics.json").is_file() for job in jobs)
    run_project(["-m", "biogpt.report", str(sweep)])
    with (sweep / "report.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((row["model.init"], row["n"]) for row in rows) == [
        (str(backbones["gpt2"]), "2"),
        (str(backbones["t5"]), "2"),
    ]
    assert (sweep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_transformers_biogpt_trains_and_another_family_says_how_to_install_it(
    backbones: dict[str, Path], tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """``transformers`` is a dependency of the other families only: with it hidden as if uninstalled
    (its import fails and its package metadata is gone), BioGPT still trains and evaluates, and a GPT-2
    directory stops the run with the install command."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text(HIDE_TRANSFORMERS)
    env = {**os.environ, "PYTHONPATH": str(hidden)}
    common = [
        "train.py", f"data_dir={shared_data}", f"data.cache_dir={token_cache}", "task=ddi",
        "debug=fast", "task.max_source_positions=32", "eval.limit=1", "eval.generation.max_new_tokens=4",
        "logger={}", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
    ]  # fmt: skip
    biogpt = run_command([*common, f"hydra.run.dir={tmp_path / 'biogpt'}"], env=env)
    assert biogpt.returncode == 0, biogpt.stderr[-3000:]
    assert (tmp_path / "biogpt" / "metrics.json").is_file()
    gpt2 = run_command(
        [*common, f"model.init={backbones['gpt2']}", f"hydra.run.dir={tmp_path / 'gpt2'}"], env=env
    )
    assert gpt2.returncode == 1 and "Traceback" not in gpt2.stderr
    assert "runs through transformers, which is not installed: pip install -e '.[backbones]'" in gpt2.stderr
