"""``biogpt-data validate task=... [model=...]``: a task's splits read and checked, nothing written.

Takes ``train.py``'s overrides (the config is composed as ``train.py`` composes it), prints the report
of :mod:`biogpt.data.custom.validate` and exits 1 when a defect makes the data unusable. Given
``model=`` (or ``tokenizer=``), it also names the examples over that model's positions under the
configured prompt. :func:`check_task_data` is the check ``train.py`` and ``evaluate.py`` run first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from biogpt.artifacts.backbone_source import load_backbone_tokenizer
from biogpt.data.custom.validate import check_corpus, fatal, over_length, render, validate_task
from biogpt.data.files.requirements import check_task_files
from biogpt.data.tasks import CustomTaskSettings, TaskSettings, load_task_split
from biogpt.errors import ConfigError
from biogpt.experiment.config.overrides import compose_one_config, exit_on_unknown_keys
from biogpt.experiment.config.settings import run_settings
from biogpt.experiment.config.validation import check_config
from biogpt.prompts import build_layout, prompt_tokens


def check_task_data(task: TaskSettings, splits: Sequence[str], *, split_key: str) -> None:
    """A built-in task's files present, or a custom corpus free of defects, before any model is built.
    ``split_key`` is the command's setting that chose the split it evaluates or writes (``eval.split``;
    the export's ``split``): a custom corpus reads its test split from ``task.test`` alone, and the
    remedy names the key this command takes."""
    if isinstance(task, CustomTaskSettings):
        if "test" in splits and task.test is None:
            raise ConfigError(
                f"{split_key}=test: a custom corpus's test split is read from task.test, which is not set; "
                f"name the test file, directory or glob (task.test=...) or set {split_key}=valid"
            )
        check_corpus(task, splits)
    else:
        check_task_files(task.name, task.data_dir, splits)


USAGE = """usage: biogpt-data validate task=NAME [OVERRIDE ...]

Reads every split of the task that train.py's overrides configure (a built-in task, or task=custom with
its files), prints what it holds (examples, records, relation types, labels, what was read and not used,
duplicate ids, skipped records, defects at their file and line) and writes nothing. Exit status 1 when a
defect makes the data unusable. With model=... or tokenizer=..., it also names the examples longer than
the model's positions under the configured prompt. Example:

  biogpt-data validate task=custom task.kind=relation task.train=corpus/train task.test=corpus/test"""


def main(overrides: Sequence[str]) -> int:
    """Print the report of the task the overrides configure; 1 when it has defects. The overrides get
    ``train.py``'s checks: an unknown key (exit 2), a value or option its key refuses (one line)."""
    if {"-h", "--help"} & set(overrides):
        print(USAGE)
        return 0
    exit_on_unknown_keys("train", overrides)
    cfg = compose_one_config("train", overrides)
    check_config(cfg, "train")
    run = run_settings(cfg)
    summaries = validate_task(run.task)
    keys = [override.split("=", 1)[0].lstrip("+~") for override in overrides]
    if any(key == "tokenizer" or key == "model" or key.startswith("model.") for key in keys):
        tokenizer = load_backbone_tokenizer(run.backbone, tokenizer=run.tokenizer, vocab_root=run.vocab_root)
        prompt = prompt_tokens(run.prompt, tokenizer)
        layout = build_layout(run.layout, tokenizer, prompt.ids)
        for summary in summaries:
            summary.over_length = over_length(load_task_split(run.task, summary.split), tokenizer, layout)
    print(render(summaries, run.task))
    defects = fatal(summaries)
    if defects:
        print(f"error: {len(defects)} defect(s) make the data unusable as it is", file=sys.stderr)
        return 1
    return 0
