"""``biogpt-data validate task=... [model=...]``: a task's splits read and checked, nothing written.

Takes ``train.py``'s overrides (the config is composed as ``train.py`` composes it), prints the report
of :mod:`biogpt.data.custom.validate` and exits 1 when a defect makes the data unusable. Given
``model=`` (or ``tokenizer=``), it also names the examples over that model's positions under the
configured prompt. :func:`check_task_data` is the check ``train.py`` and ``evaluate.py`` run first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hydra import compose, initialize_config_dir

from biogpt.data.custom.validate import check_corpus, fatal, over_length, render, validate_task
from biogpt.data.files.requirements import check_task_files
from biogpt.data.tasks import CustomTaskSettings, TaskSettings, load_task_split
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.config.settings import layout_settings, prompt_settings, task_settings
from biogpt.prompts import build_layout, prompt_tokens


def check_task_data(task: TaskSettings, splits: Sequence[str]) -> None:
    """A built-in task's files present, or a custom corpus free of defects, before any model is built."""
    if isinstance(task, CustomTaskSettings):
        check_corpus(task, splits)
    else:
        check_task_files(task.name, task.data_dir, splits)


def main(overrides: Sequence[str]) -> int:
    """Print the report of the task the overrides configure; 1 when it has defects."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    task = task_settings(cfg)
    summaries = validate_task(task)
    keys = [override.split("=", 1)[0].lstrip("+~") for override in overrides]
    if any(key == "tokenizer" or key == "model" or key.startswith("model.") for key in keys):
        # Imported here: the module of builders brings Lightning, seconds that evaluate.py (which
        # imports check_task_data) would pay at every start without training anything.
        from biogpt.experiment.build import load_tokenizer

        tokenizer = load_tokenizer(cfg)
        prompt = prompt_tokens(prompt_settings(cfg), tokenizer)
        layout = build_layout(layout_settings(cfg), tokenizer, prompt.ids)
        for summary in summaries:
            summary.over_length = over_length(load_task_split(task, summary.split), tokenizer, layout)
    print(render(summaries))
    defects = fatal(summaries)
    if defects:
        print(f"error: {len(defects)} defect(s) make the data unusable as it is", file=sys.stderr)
        return 1
    return 0
