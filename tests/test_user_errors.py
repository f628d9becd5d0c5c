"""Every user mistake ends in one ``error:`` line naming the key or file, exit status 1 (2 for an unknown
key), no traceback, before any data is read or a model is built: a table of wrong inputs per command.

The full table goes through the checks each Hydra command runs before its job, in this process (the
same functions, :func:`~biogpt.experiment.config.overrides.composition_error` for a value of the wrong
type and :func:`~biogpt.experiment.config.validation.check_config` for one its key does not allow); the
issue's rows and the file errors that only the job can see run the commands themselves in this
process; and each command runs once as a subprocess, as a user starts it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from project_commands import run_command

from biogpt import cli
from biogpt.errors import ConfigError
from biogpt.experiment.config.options_doc import schema_keys
from biogpt.experiment.config.overrides import check_sweep_base, compose_first_job, compose_sweep_jobs
from biogpt.experiment.config.schema import ROOT_SCHEMAS
from biogpt.experiment.config.validation import check_config
from biogpt.model import BioGPT, BioGPTConfig

MISSING = "/nonexistent/biogpt-test/missing"
TRAIN = ("task=ddi", "debug=fast")
SWEEP = ("-m", "debug=fast", "model=tiny")
STUDY_SWEEP = (
    "-m",
    "debug=fast",
    "experiment=study/dce",
    "model=openai-community/gpt2-medium,microsoft/biogpt",
)
CUSTOM = ("task=custom", "task.kind=relation", "task.format=brat", "debug=fast", "model=tiny")

# A value out of range for each numeric key of data, optim, eval, prompt and trainer (the test's own
# reading of the documented ranges, not the validation's table).
OUT_OF_RANGE: dict[str, str] = {
    "data.max_tokens": "0",
    "data.batch_size": "0",
    "data.update_freq": "0",
    "data.train_shots": "-3",
    "data.num_workers": "-1",
    "optim.lr": "-1e-4",
    "optim.warmup_updates": "-1",
    "optim.warmup_init_lr": "-1e-7",
    "optim.betas": "[0.9,1.5]",
    "optim.eps": "0",
    "optim.weight_decay": "-0.01",
    "optim.warmup_fraction": "1.0",
    "prompt.length": "-1",
    "eval.limit": "0",
    "eval.batch_size": "0",
    "eval.log_predictions": "-1",
    "eval.generation.max_new_tokens": "0",
    "eval.generation.min_new_tokens": "-1",
    "eval.generation.beam": "0",
    "eval.generation.temperature": "0",
    "eval.generation.top_k": "-1",
    "eval.generation.top_p": "1.5",
    "eval.generation.no_repeat_ngram_size": "-1",
    "eval.generation.seed": "-1",
    "trainer.devices": "0",
    "trainer.num_nodes": "0",
    "trainer.max_epochs": "-5",
    "trainer.max_steps": "-5",
    "trainer.accumulate_grad_batches": "0",
    "trainer.gradient_clip_val": "-1.0",
    "trainer.log_every_n_steps": "0",
    "trainer.num_sanity_val_steps": "-2",
    "trainer.limit_val_batches": "1.5",
    "trainer.fast_dev_run": "-1",
}
# Numeric keys any value of which is allowed.
UNBOUNDED = {"eval.generation.length_penalty"}
NUMERIC_BLOCKS = ("data.", "optim.", "eval.", "prompt.", "trainer.")


def _numeric_keys() -> list[str]:
    return [
        key
        for key, kind in schema_keys(ROOT_SCHEMAS["train"])
        if key.startswith(NUMERIC_BLOCKS) and kind.split(" or ")[0] in ("integer", "number", "list of number")
    ]


def first_error(config_name: str, overrides: list[str]) -> tuple[int, str]:
    """The exit status and the ``error:`` line a command gives for ``overrides`` before its job: the
    composition with the typed schema, then the validation of the composed config (0 and "" when both
    pass). Unknown keys, which the commands check first, are tests/test_configs.py's."""
    try:
        cfg = compose_first_job(config_name, overrides)
        assert cfg is not None, overrides
        check_config(cfg, config_name)
    except ConfigError as error:
        return 1, f"error: {error}"
    return 0, ""


def test_every_numeric_key_of_the_documented_blocks_has_an_out_of_range_row() -> None:
    keys = set(_numeric_keys())
    assert keys >= {"optim.lr", "data.update_freq", "eval.batch_size", "trainer.max_steps"}
    assert keys - UNBOUNDED <= set(OUT_OF_RANGE), sorted(keys - UNBOUNDED - set(OUT_OF_RANGE))


def _rows() -> list[tuple[str, list[str], str]]:
    """(config, overrides, the key the error names): a wrong type and an out-of-range value for each
    numeric key, and the other value rules of every command."""
    rows = [("train", [*TRAIN, f"{key}=abc"], key) for key in [*_numeric_keys(), "seed"]]
    rows += [("train", [*TRAIN, f"{key}={value}"], key) for key, value in OUT_OF_RANGE.items()]
    rows += [
        ("train", [*TRAIN, "trainer.devices=abc"], "trainer.devices"),
        ("train", [*TRAIN, "trainer.limit_val_batches=abc"], "trainer.limit_val_batches"),
        ("train", [*TRAIN, "trainer.precision=33"], "trainer.precision"),
        ("train", [*TRAIN, "trainer.accelerator=abacus"], "trainer.accelerator"),
        ("train", [*TRAIN, "trainer.max_epochs=-1", "trainer.max_steps=-1"], "trainer.max_steps"),
        ("train", [*TRAIN, "model.dropout=1.5"], "model.dropout"),
        ("train", [*TRAIN, "model.dropout=abc"], "model.dropout"),
        ("train", [*TRAIN, "model.preset=huge"], "model.preset"),
        ("train", [*TRAIN, "model.preset=null"], "model.init"),
        ("train", [*TRAIN, "task.lr=0"], "task.lr"),
        ("train", [*TRAIN, "task.lr=abc"], "task.lr"),
        ("train", [*TRAIN, "task.order=random"], "task.order"),
        ("train", ["task=pubmedqa", "task.fold=10"], "task.fold"),
        ("train", ["task=cdr", "target_format=study", "task.valid_fraction=1.0"], "task.valid_fraction"),
        ("train", ["task=hoc", "task.max_positions=abc"], "task.max_positions"),
        ("train", ["task=ddi", "target_format=study"], "target_format.name"),
        ("train", [*TRAIN, "prompt.kind=soft", "prompt.length=0"], "prompt.length"),
        ("train", [*TRAIN, "prompt=hard", "prompt.text="], "prompt.text"),
        ("train", [*TRAIN, "prompt.init=zeros"], "prompt.init"),
        ("train", [*TRAIN, "data.batch_size=4"], "data.batch_size"),
        ("train", [*TRAIN, "data.loss_on=source"], "data.loss_on"),
        ("train", [*TRAIN, "data.splits.train=dev"], "data.splits.train"),
        ("train", [*TRAIN, "optim.schedule=cosine"], "optim.schedule"),
        ("train", [*TRAIN, "select.final=median"], "select.final"),
        ("train", [*TRAIN, "select.from_epoch=0"], "select.from_epoch"),
        ("train", [*TRAIN, "keep_last_epochs=-1"], "keep_last_epochs"),
        # Averaging with no epoch kept: the last weights became the final model without a word.
        ("train", [*TRAIN, "keep_last_epochs=0"], "keep_last_epochs"),
        (
            "train",
            ["task=hoc", "debug=fast", "keep_last_epochs=0", "select.final=average"],
            "keep_last_epochs",
        ),
        ("train", [*TRAIN, "checkpoint.every_n_updates=0"], "checkpoint.every_n_updates"),
        ("train", [*TRAIN, "eval.split=dev"], "eval.split"),
        ("train", [*TRAIN, "eval.ids=some"], "eval.ids"),
        ("train", [*TRAIN, "eval.dtype=fp64"], "eval.dtype"),
        ("train", [*TRAIN, "eval.generation.min_new_tokens=300"], "eval.generation.min_new_tokens"),
        # A beam hypothesis ends with its </s> within the maximum: with the minimum equal to it, every
        # hypothesis died and the search returned empty texts.
        (
            "train",
            [
                *TRAIN,
                "eval.generation.beam=2",
                *(f"eval.generation.{k}_new_tokens=20" for k in ("min", "max")),
            ],
            "eval.generation.min_new_tokens",
        ),
        # Sampling and beam search exclude each other: the decoder refused them after training.
        (
            "train",
            [*TRAIN, "eval.generation.sampling=true", "eval.generation.beam=2"],
            "eval.generation.sampling",
        ),
        # An option its config group lacks, at the top and in a sub-folder of the group.
        ("train", ["task=kddti", "debug=fast"], "task"),
        ("train", ["experiment=paper/kd_dtii"], "experiment"),
        ("train", [*TRAIN, "model=microsoft/biogptt"], "model"),
        ("train", [*TRAIN, "+peft=lorra"], "peft"),
        ("pretrain", ["experiment=pretrain_tinny"], "experiment"),
        ("evaluate", ["task=ddi", "predictions=file.txt", "ckpt=org/model"], "ckpt"),
        ("evaluate", ["task=ddi"], "predictions"),
        ("evaluate", ["task=ddi", "ckpt=org/model", "eval.split=null"], "eval.split"),
        ("export", ["task=ddi", "out=x.jsonl", "split=dev"], "split"),
        ("export", ["task=ddi"], "out"),
        (
            "pretrain",
            ["experiment=pretrain_tiny", "pretrain.corpus_dir=packed", "pretrain.tokens_per_sample=0"],
            "pretrain.tokens_per_sample",
        ),
        (
            "pretrain",
            ["experiment=pretrain_tiny", "pretrain.corpus_dir=packed", "pretrain.blocks_per_batch=abc"],
            "pretrain.blocks_per_batch",
        ),
        (
            "pretrain",
            ["experiment=pretrain_tiny", "pretrain.corpus_dir=packed", "optim.lr=0"],
            "optim.lr",
        ),
        ("pretrain", ["experiment=pretrain_tiny"], "pretrain.corpus_dir"),
        ("pretrain", ["pretrain.corpus_dir=packed"], "trainer.max_steps"),
        ("generate", ["ckpt=org/model", "text=x", "beam=0"], "beam"),
        ("generate", ["ckpt=org/model", "text=x", "top_p=abc"], "top_p"),
        ("generate", ["ckpt=org/model", "text=x", "min_len=10", "max_len=5"], "min_len"),
        ("generate", ["ckpt=org/model", "text=x", "dtype=int8"], "dtype"),
        ("generate", ["ckpt=org/model", "text=x", "sampling=true", "beam=2"], "sampling"),
        ("generate", ["ckpt=org/model", "text=x", "beam=3", "min_len=3", "max_len=3"], "min_len"),
        (
            "serve",
            [
                "ckpt=org/model",
                "eval.generation.beam=2",
                *(f"eval.generation.{k}_new_tokens=8" for k in ("min", "max")),
            ],
            "eval.generation.min_new_tokens",
        ),
        (
            "serve",
            ["ckpt=org/model", "eval.generation.sampling=true", "eval.generation.beam=2"],
            "eval.generation.sampling",
        ),
        ("generate", ["ckpt=org/model"], "text"),
        ("serve", [], "ckpt"),
        ("serve", ["ckpt=org/model", "port=80"], "port"),
        ("serve", ["ckpt=org/model", "port=abc"], "port"),
        ("serve", ["ckpt=org/model", "host=example.org"], "host"),
        ("serve", ["ckpt=org/model", "serve.max_batch_size=0"], "serve.max_batch_size"),
        ("serve", ["ckpt=org/model", "serve.batch_timeout=-1"], "serve.batch_timeout"),
        ("serve", ["ckpt=org/model", "serve.workers=abc"], "serve.workers"),
        ("serve", ["ckpt=org/model", "serve.max_chars=0"], "serve.max_chars"),
        ("serve", ["ckpt=org/model", "serve.max_texts=0"], "serve.max_texts"),
        ("serve", ["ckpt=org/model", "serve.timeout=0"], "serve.timeout"),
        ("serve", ["ckpt=org/model", "eval.dtype=int8"], "eval.dtype"),
        ("serve", ["ckpt=org/model", "eval.generation.top_p=2"], "eval.generation.top_p"),
        (
            "serve",
            ["ckpt=org/model", "eval.generation.max_new_tokens=1000"],
            "eval.generation.max_new_tokens",
        ),
        ("serve", ["ckpt=org/model", "eval.generation.beam=6"], "eval.generation.beam"),
    ]
    return rows


def _path_rows(tmp: Path) -> list[tuple[str, list[str], str]]:
    """A missing path and one of the wrong kind (a directory for a file, a file for a directory, an
    unreadable file where the tests do not run as root) for every path option."""
    a_file, a_dir = tmp / "file.txt", tmp / "dir"
    rows = []
    for config_name, base, key, wrong in (
        ("train", TRAIN, "model.init", None),
        ("train", TRAIN, "tokenizer", None),
        ("train", TRAIN, "checkpoint.resume", a_dir),
        ("evaluate", ("task=ddi",), "predictions", a_dir),
        ("evaluate", ("task=ddi",), "ckpt", None),
        ("export", ("task=ddi",), "out", a_dir),
        ("pretrain", ("experiment=pretrain_tiny",), "pretrain.corpus_dir", a_file),
        (
            "pretrain",
            ("experiment=pretrain_tiny", f"pretrain.corpus_dir={tmp / 'packed'}"),
            "pretrain.resume",
            a_dir,
        ),
        ("generate", ("text=x",), "ckpt", None),
        ("generate", ("ckpt=org/model", "text=x"), "tokenizer", None),
        ("serve", (), "ckpt", None),
    ):
        rows.append((config_name, [*base, f"{key}={MISSING}"], key))
        if wrong is not None:
            rows.append((config_name, [*base, f"{key}={wrong}"], key))
        if os.geteuid() != 0 and key in ("predictions", "checkpoint.resume"):
            rows.append((config_name, [*base, f"{key}={tmp / 'locked.txt'}"], key))
    # A file that is no checkpoint (a model's weights, a truncated copy) where a run resumes.
    rows.append(("train", [*TRAIN, f"checkpoint.resume={a_file}"], "checkpoint.resume"))
    # biogpt-extract's out is a directory to create: an existing file is no such path.
    rows.append(("extract", ["ckpt=org/model", f"input={a_file}", f"out={a_file}"], "out"))
    # ... nor the input directory, or below it, where the run's files would be read as input next time.
    rows.append(("extract", ["ckpt=org/model", f"input={a_dir}", f"out={a_dir / 'kb'}"], "out"))
    # A directory that is not a packed corpus.
    rows.append(
        ("pretrain", ["experiment=pretrain_tiny", f"pretrain.corpus_dir={a_dir}"], "pretrain.corpus_dir")
    )
    return rows


@pytest.fixture
def paths(tmp_path: Path) -> Path:
    (tmp_path / "file.txt").write_text("x\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "packed").mkdir()
    (tmp_path / "packed" / "index.json").write_text("{}")
    (tmp_path / "locked.txt").write_text("x\n")
    (tmp_path / "locked.txt").chmod(0)
    return tmp_path


def test_every_wrong_value_is_named_before_any_work(
    paths: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(paths)  # relative paths (out=x.jsonl) resolve here
    rows = _rows() + _path_rows(paths)
    assert len(rows) > 120
    failures = []
    for config_name, overrides, key in rows:
        status, line = first_error(config_name, overrides)
        named = line.startswith(f"error: {key}") or f", {key}=" in line or f"'{key}'" in line
        if status not in (1, 2) or not named:
            failures.append(f"{config_name} {' '.join(overrides)} -> {status}: {line!r}")
    assert not failures, "\n".join(failures)


def test_a_valid_config_passes_the_checks(
    paths: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks refuse only mistakes: the defaults and the shipped experiments pass them."""
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(paths)
    for config_name, overrides in (
        ("train", list(TRAIN)),
        ("train", ["experiment=paper/kd_dti", "target_format=svo"]),
        ("train", ["experiment=study/dce", "data.train_shots=16", "model=google/flan-t5-base"]),
        ("train", ["task=hoc", "prompt=hard", "debug=overfit"]),
        ("evaluate", ["task=ddi", "ckpt=microsoft/biogpt", "eval.dtype=bf16"]),
        ("export", ["task=pubmedqa", "out=x.jsonl"]),
        ("pretrain", ["experiment=paper/pretrain", "pretrain.corpus_dir=packed"]),
        ("generate", ["ckpt=microsoft/biogpt", "text=COVID-19 is"]),
        ("serve", ["ckpt=microsoft/biogpt", "host=0.0.0.0", "serve.max_batch_size=1"]),
    ):
        assert first_error(config_name, overrides) == (0, ""), overrides


def _run_in_process(
    command: Callable[[], None], arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run a command in this process with ``arguments``; its exit status and stderr.

    A command whose Hydra job starts configures the root logger (a handler on this test's captured
    stderr, one on the run's log file) and leaves it so; the handlers it added are removed here, or a
    later test of this worker that logs would write to a closed capture ("--- Logging error ---" and a
    traceback in its stderr: tests/test_custom_validate.py failed so when it ran after this file)."""
    saved = sys.argv
    sys.argv = ["command", *arguments]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        command()
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    finally:
        sys.argv = saved
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "arguments", "named"),
    [
        (cli.finetune, [*TRAIN, "optim.lr=abc"], "optim.lr"),
        (cli.finetune, [*TRAIN, "seed=abc"], "seed"),
        (cli.finetune, [*TRAIN, "data.update_freq=0"], "data.update_freq"),
        (cli.finetune, [*TRAIN, "trainer.max_epochs=-5"], "trainer.max_epochs"),
        (cli.finetune, [*TRAIN, "trainer.max_steps=abc"], "trainer.max_steps"),
        (cli.finetune, [*TRAIN, "eval.batch_size=0"], "eval.batch_size"),
        (cli.finetune, [*TRAIN, "model.dropout=1.5"], "model.dropout"),
        (cli.finetune, [*TRAIN, "prompt.length=-1"], "prompt.length"),
        (cli.finetune, [*TRAIN, "data.train_shots=-3"], "data.train_shots"),
        (cli.finetune, [*TRAIN, f"model.init={MISSING}"], "model.init"),
        (cli.finetune, [*TRAIN, "data_dir=/nonexistent/biogpt-data"], "/nonexistent/biogpt-data"),
        (cli.evaluate, ["task=ddi", f"predictions={MISSING}"], "predictions"),
        # An argument that is no override, and one Hydra refuses to apply, in one line (not Hydra's four).
        (cli.finetune, [*TRAIN, "junk"], "junk: not an override key=value (missing EQUAL"),
        (cli.finetune, [*TRAIN, "optim.lr=[1,"], "optim.lr=[1,: not an override"),
        # Hydra's message spans three lines; the command folds them into its one.
        (cli.finetune, [*TRAIN, "+seed=1"], "already at 'seed'. Either remove + prefix: 'seed=1' Or add"),
        # A grid sweep's wrong value, wherever it is, ends the sweep before its first job: Hydra composes
        # and the job validates each config only as its job starts.
        (cli.finetune, [*SWEEP, "task=ddi", "data.update_freq=1,0"], "data.update_freq=0"),
        (cli.finetune, [*SWEEP, "task=ddi", "optim.lr=1e-3,abc"], "optim.lr: Value 'abc'"),
        (cli.finetune, [*SWEEP, "task=ddi,kddti"], "task=kddti"),
        (cli.finetune, [*SWEEP, "task=ddi", "seed=1,2", "eval.generation.beam=1,5,0"], "beam=0"),
        # What Hydra reports in several lines or a traceback, or would run as nothing: a sweep without
        # -m, a sweep of Hydra's own setting, a search's space written as its setting, an empty range, a
        # group set to null (with a key override too: the unknown-key check composes first), and a
        # search without -m, which would train once.
        (cli.finetune, [*TRAIN, "seed=1,2"], "seed=1,2: a sweep runs as a multirun: add -m"),
        (cli.finetune, [*SWEEP, "task=ddi", "hydra.job.name=a,b"], "Hydra's own settings take one value"),
        (
            cli.finetune,
            [*SWEEP, "task=ddi", "hparams_search=lr_prompt", "hydra.sweeper.params.optim.lr=interval(1,2)"],
            "a search's space is given by its arguments: write optim.lr=interval(1,2)",
        ),
        (cli.finetune, [*SWEEP, "task=ddi", "prompt.length=range(1,0)"], "a sweep without a value"),
        (cli.finetune, [*TRAIN, "prompt=null", "seed=2"], "prompt=null: a config group takes one of its"),
        (cli.finetune, [*TRAIN, "hparams_search=lr_prompt"], "a search runs its trials as a multirun"),
        # Every job has the key, but Hydra's base config for the sweep (debug=fast's model=tiny) has not.
        (
            cli.finetune,
            [*STUDY_SWEEP, "model.study.max_new_tokens=5"],
            "model.study.max_new_tokens=choice(5)",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_the_commands_end_with_one_error_line(
    command: Callable[[], None],
    arguments: list[str],
    named: str,
    tmp_path: Path,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    status, stderr = _run_in_process(command, [*arguments, f"hydra.run.dir={tmp_path / 'run'}"], capsys)
    assert time.monotonic() - started < 30
    assert status == 1, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    # One error message (a missing data set's lists the files, then the command that fetches them).
    assert [line for line in lines if line.startswith("error: ")] and named in lines[-1], stderr
    # Nothing was built: no checkpoint, no final model, no tokenized cache, no sweep's job.
    assert not (tmp_path / "run" / "final").exists() and not (tmp_path / ".cache").exists()
    assert not (tmp_path / "multirun").exists()


def test_files_only_the_job_reads_are_named_too(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths that exist but hold the wrong thing (an empty directory as a model or a vocabulary, a
    predictions file of the wrong length, a model without the task a service applies or without the
    rows of the prompt, ids a split lacks) end the job with the file's name, before any training or any
    service's worker; so does a token budget that the data turns out to exceed."""
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line = tmp_path / "one_line.txt"
    one_line.write_text("the interaction of a and b is mechanism.\n")
    untasked = BioGPT(BioGPTConfig.from_preset("tiny")).save_pretrained(tmp_path / "untasked")
    jsonl = Path(__file__).parent / "corpora" / "custom" / "jsonl" / "relations.jsonl"
    malformed, unsupported = tmp_path / "malformed", tmp_path / "unsupported"
    for directory, config in (
        (malformed, '{"model_type": "biogpt"'),
        (unsupported, '{"model_type": "llama"}'),
    ):
        directory.mkdir()
        (directory / "config.json").write_text(config)
        (directory / "model.safetensors").touch()
    for command, arguments, named in (
        (cli.finetune, [*TRAIN, f"model.init={empty}"], str(empty)),
        (cli.finetune, [*TRAIN, f"tokenizer={empty}"], str(empty)),
        # A token budget below the longest example's shows once the split is tokenized.
        (cli.finetune, [*TRAIN, "data.max_tokens=16"], "data.max_tokens=16"),
        (cli.evaluate, ["task=ddi", f"ckpt={empty}"], str(empty)),
        (cli.evaluate, ["task=ddi", f"predictions={one_line}"], str(one_line)),
        # A model without prompt rows under the default soft prompt; ids the split does not have.
        (cli.evaluate, ["task=ddi", f"ckpt={untasked}"], "rows but its tokenizer"),
        (
            cli.evaluate,
            ["task=ddi", f"ckpt={untasked}", "prompt=none", "eval.ids=[1,2]"],
            "eval.ids: 2 of 2 ids are not among the ddi test examples ('1', '2'); expected ids such as "
            "'DDI-DrugBank.d700'",
        ),
        (cli.evaluate, ["task=ddi", f"predictions={one_line}", "eval.ids=[7]"], "1 of 1 ids are not among"),
        (cli.generate, [f"ckpt={empty}", "text=x"], str(empty)),
        (cli.generate, [f"ckpt={malformed}", "text=x"], f"{malformed / 'config.json'}: not valid JSON"),
        # Another family's vocabulary for a BioGPT model.
        (
            cli.generate,
            [f"ckpt={untasked}", "text=x", f"tokenizer={shared_data / 'vocab' / 'gpt2'}"],
            "vocab.json: lacks BioGPT's special tokens",
        ),
        # A split without an example (a JSONL corpus read as brat) says what was read, before training.
        (
            cli.finetune,
            [*CUSTOM, f"task.train={jsonl}", f"task.test={jsonl}"],
            "the train split has no examples",
        ),
        # The service checks its model's source and the task to apply before it starts its workers.
        (cli.serve, [f"ckpt={empty}", "task=kd_dti"], f"{empty}: neither a Hugging Face directory"),
        (cli.serve, [f"ckpt={unsupported}", "task=kd_dti"], "model_type 'llama' is not a supported"),
        (cli.serve, [f"ckpt={untasked}"], f"{untasked} records no task"),
        (cli.serve, [f"ckpt={untasked}", "task=pubmedqa"], "task=pubmedqa"),
    ):
        status, stderr = _run_in_process(command, [*arguments, f"hydra.run.dir={tmp_path / 'run'}"], capsys)
        last = stderr.strip().splitlines()[-1]
        assert status == 1 and "Traceback" not in stderr, stderr
        assert last.startswith("error: ") and named in last, stderr


@pytest.mark.parametrize(
    ("command", "arguments", "key"),
    [
        (cli.export, ["out={out}"], "split"),
        (cli.finetune, ["debug=fast", "model=tiny"], "eval.split"),
        (cli.evaluate, ["predictions={out}"], "eval.split"),
    ],
    ids=["export", "train", "evaluate"],
)
def test_a_custom_corpus_without_task_test_is_named_by_the_commands_own_split_key(
    command: Callable[[], None],
    arguments: list[str],
    key: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A custom corpus reads its test split from ``task.test`` alone. A command that would read it
    without one is refused before any work, and the remedy names the key this command takes: the
    export's is ``split`` (its message said ``eval.split=valid``, which the export does not read, so
    following it failed the same way). The export then follows the remedy and writes the valid split."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "examples.jsonl"
    out.write_text("")
    brat = Path(__file__).parent / "corpora" / "custom" / "brat" / "train"
    corpus = ["task=custom", "task.kind=relation", f"task.train={brat}", f"hydra.run.dir={tmp_path / 'run'}"]
    given = [argument.format(out=out) for argument in arguments]
    status, stderr = _run_in_process(command, [*corpus, *given], capsys)
    assert status == 1 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: {key}=test: a custom corpus's test split is read from task.test, which is not set; "
        f"name the test file, directory or glob (task.test=...) or set {key}=valid"
    )
    assert not (tmp_path / "run" / "final").exists() and not (tmp_path / ".cache").exists()
    if command is cli.export:
        status, stderr = _run_in_process(command, [*corpus, *given, f"{key}=valid"], capsys)
        assert status == 0, stderr
        assert len(out.read_text().splitlines()) == 1


def test_a_text_the_model_cannot_read_whole_is_named_by_biogpt_generate(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text over the model's positions ended in the decoder's ``ValueError`` under Hydra's report; it
    is one error line naming ``text`` and the positions (one stays free for what is generated)."""
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    model = BioGPT(BioGPTConfig.from_preset("tiny")).save_pretrained(tmp_path / "model")
    arguments = [f"ckpt={model}", "text=" + " ".join(["aspirin"] * 1100), f"hydra.run.dir={tmp_path / 'run'}"]
    status, stderr = _run_in_process(cli.generate, arguments, capsys)
    assert status == 1 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: text: 1101 tokens as the model reads it, over the 1023 that the 1024 positions of {model} "
        "allow with one left to generate; expected a shorter text"
    )


@pytest.mark.parametrize(
    ("read", "positions", "decoder_only", "warned"),
    [
        (1001, 1024, True, "max_len=50: m has room for 23 tokens after this text; it stops there"),
        (1000, 1024, False, None),  # an encoder-decoder's decoder has its own table: 1023 tokens of room
        (1024, 1024, False, None),
        (10, None, True, None),  # T5: relative positions, no table
        (1, 40, False, "max_len=50: m has room for 39 tokens after this text; it stops there"),
    ],
)
def test_a_max_len_past_the_positions_left_is_said(
    read: int, positions: int | None, decoder_only: bool, warned: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Generation stops where the positions end; a ``max_len`` past them is said, not cut silently."""
    from biogpt.experiment.generate import _room_to_generate

    with caplog.at_level(logging.WARNING, logger="biogpt.experiment.generate"):
        _room_to_generate(read, positions, decoder_only, 50, "m")
    assert [record.getMessage() for record in caplog.records] == ([warned] if warned else [])


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has the GPU these settings ask for")
@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        (cli.finetune, [*TRAIN, "trainer=gpu"]),
        (cli.extract, ["ckpt={model}", "input={corpus}", "out={out}", "trainer=ddp"]),
    ],
    ids=["train", "extract"],
)
def test_a_device_the_machine_lacks_is_named(
    command: Callable[[], None],
    arguments: list[str],
    tmp_path: Path,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lightning refuses an accelerator the machine lacks while Hydra instantiates the Trainer: that was
    Hydra's report of an instantiation error (four lines, 'full_key: trainer'), after the model loaded."""
    monkeypatch.setenv("BIOGPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text('{"id": "1", "text": "aspirin"}\n')
    model = BioGPT(BioGPTConfig.from_preset("tiny")).save_pretrained(tmp_path / "model")
    given = [argument.format(corpus=corpus, out=tmp_path / "out", model=model) for argument in arguments]
    status, stderr = _run_in_process(command, [*given, f"hydra.run.dir={tmp_path / 'run'}"], capsys)
    assert status == 1 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: trainer.accelerator=gpu, trainer.devices="), stderr
    assert last.endswith("No supported gpu backend found!; trainer=cpu (or ddp_cpu) runs on CPUs alone")


@pytest.mark.parametrize(
    ("module", "arguments"),
    [
        ("biogpt.data.pubmed.corpus", ["--out", "{file}", "{file}"]),
        ("biogpt.data.pubmed.packing", ["--corpus", "{file}", "--out", "{file}"]),
        ("biogpt.experiment.reports.command", ["{file}", "--out", "{file}"]),
        ("biogpt.experiment.demo", ["--out", "{file}"]),
        ("biogpt.artifacts.convert", ["{file}", "{file}"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_output_directory_that_is_a_file_is_refused_at_once(
    module: str, arguments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command that writes a directory (the corpus, the packed blocks, a report, the demo, a
    converted model) refuses an existing file there before any work: it was a FileExistsError traceback
    once the work was done (after reading every PubMed file)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x\n")
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exited:
        main([argument.format(file=a_file) for argument in arguments])
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert (
        stderr.strip()
        .splitlines()[-1]
        .endswith(f"{a_file} is an existing file; expected a directory to write")
    ), stderr


@pytest.mark.parametrize(
    ("arguments", "status", "named"),
    [
        (["task=kddti"], 1, "error: task=kddti: the config group 'task' has no option 'kddti'"),
        (["task=ddi", "seed=abc"], 1, "error: seed: Value 'abc'"),
        (["task=ddi", "task.lr=0"], 1, "error: task.lr"),
        (["task=custom"], 1, "error: task.kind is required"),
        (["task=ddi", "junk"], 1, "error: junk: not an override key=value"),
        (["task=ddi,hoc"], 1, "error: task=ddi,hoc: a sweep; this command composes one configuration"),
        (["task=ddi", "-m"], 1, "error: -m: this command takes train.yaml's key=value overrides, no flags"),
        (["task=ddi", "data.max_tokenz=5"], 2, "unknown config key 'data.max_tokenz'"),
        (["task=ddi", "prompt=null"], 1, "error: prompt=null: a config group takes one of its options"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_biogpt_data_validate_checks_its_overrides_as_train_py_does(
    arguments: list[str], status: int, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``biogpt-data validate`` composes train.py's config itself: it ended in Hydra's traceback for an
    option a group lacks, a value of the wrong type or an argument that is no override."""
    exit_status, stderr = _run_in_process(cli.data, ["validate", *arguments], capsys)
    assert exit_status == status and "Traceback" not in stderr, stderr
    assert stderr.startswith(named), stderr


def test_biogpt_data_names_validate_and_validate_prints_its_usage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for arguments in (["--help"], ["validate", "--help"]):
        monkeypatch.setattr(sys, "argv", ["biogpt-data", *arguments])
        with pytest.raises(SystemExit) as exit_:
            cli.data()
        assert exit_.value.code == 0
        assert "biogpt-data validate task=NAME [OVERRIDE ...]" in capsys.readouterr().out


def test_a_required_value_that_hydras_run_directory_reads_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``biogpt-extract``'s run directory is its ``out``: Hydra resolved it before the job's check ran
    and ended in its own traceback."""
    monkeypatch.chdir(tmp_path)
    status, stderr = _run_in_process(cli.extract, ["ckpt=org/model", f"input={tmp_path}"], capsys)
    assert (status, stderr.strip()) == (1, "error: out is required: set out=<value> (a directory path)")


def test_an_option_a_group_lacks_is_named_with_close_matches_and_the_groups_options() -> None:
    assert first_error("train", ["task=kddti"]) == (
        1,
        "error: task=kddti: the config group 'task' has no option 'kddti'. Did you mean 'kd_dti' or 'ddi'? "
        "Its options: bc5cdr, cdr, chemprot, custom, dce, ddi, ddi2013, hoc, kd_dti, pubmedqa",
    )
    # A sub-folder's options are listed with their folder, as they are chosen.
    _, line = first_error("train", ["model=microsoft/biogptt"])
    assert "Did you mean 'microsoft/biogpt'" in line and "google/flan-t5-base" in line


def test_a_sweep_of_one_value_sets_a_key_that_only_the_swept_choices_have() -> None:
    """The remedy the base config's error names passes the checks, and every job gets the value."""
    arguments = [*STUDY_SWEEP, "model.study.max_new_tokens=choice(5)"]
    check_sweep_base("train", arguments)
    jobs = compose_sweep_jobs("train", arguments)
    assert [(cfg.model.init, cfg.model.study.max_new_tokens) for cfg in jobs] == [
        ("openai-community/gpt2-medium", 5),
        ("microsoft/biogpt", 5),
    ]


def test_a_sweep_composes_one_job_per_value_of_each_swept_key() -> None:
    """As many compositions as values, not as jobs: each value with the others at their first."""
    jobs = compose_sweep_jobs("train", ["-m", "task=ddi,kd_dti", "seed=1,2,3", "prompt.length=5"])
    chosen = [(cfg.task.name, cfg.seed, cfg.prompt.length) for cfg in jobs]
    assert chosen == [("ddi", 1, 5), ("kd-dti", 1, 5), ("ddi", 2, 5), ("ddi", 3, 5)]
    assert len(compose_sweep_jobs("train", ["task=ddi"])) == 1


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["train.py", *TRAIN, "optim.lr=abc"], "optim.lr"),
        (["train.py", "task=kddti"], "task=kddti"),
        (
            ["pretrain.py", "experiment=pretrain_tiny", f"pretrain.corpus_dir={MISSING}"],
            "pretrain.corpus_dir",
        ),
        (["evaluate.py", "task=ddi", f"predictions={MISSING}"], "predictions"),
        (["-m", "biogpt.generate", "ckpt=org/model", "text=x", "beam=0"], "beam"),
        (["-m", "biogpt.serve", "ckpt=org/model", "serve.max_batch_size=0"], "serve.max_batch_size"),
        (["-m", "biogpt.data.export", "task=ddi", "out=/nonexistent/dir/x.jsonl"], "out"),
        (["-m", "biogpt.report", MISSING], MISSING),
        (["-m", "biogpt.convert", MISSING, "/nonexistent/out"], MISSING),
        (["-m", "biogpt.data.download", "download", "nosuchdataset"], "nosuchdataset"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_each_command_as_a_user_runs_it(arguments: list[str], named: str, tmp_path: Path) -> None:
    result = run_command(
        [*arguments, f"hydra.run.dir={tmp_path}"] if "=" in arguments[-1] else arguments, timeout=120
    )
    assert result.returncode in (1, 2), result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert "error" in last and named in last, result.stderr[-3000:]
