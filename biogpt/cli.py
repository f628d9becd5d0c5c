"""The commands: ``biogpt-train``, ``biogpt-pretrain``, ``biogpt-evaluate``, ``biogpt-generate``,
``biogpt-export``, ``biogpt-extract``, ``biogpt-serve`` (Hydra apps over the configs inside the
package), and ``biogpt-report``, ``biogpt-demo``, ``biogpt-convert``, ``biogpt-data``. ``train.py``,
``pretrain.py``, ``evaluate.py`` and the ``python -m`` forms call these.

Each Hydra command first names unknown config keys with the valid ones (exit status 2), values of the
wrong type for their key (the typed schema, :mod:`biogpt.experiment.config.schema`) and options a config
group lacks, and checks the composed config (:mod:`biogpt.experiment.config.validation`), in every job of
a grid sweep (one composition per swept value), then hands its arguments to Hydra; the job checks its
config again before it, in :mod:`biogpt.experiment`, reads any data or builds a model. A setting its key
does not allow, a model that cannot be had (not cached offline, unreadable), a data file that is missing
or malformed, a backbone whose optional dependency is missing, or a ``peft`` setting this machine cannot
honour (``peft=qlora``) ends the command with its message alone (one ``error:`` line, exit status 1): the
message says what to do, a traceback would only bury it. Anything else is a bug and keeps its traceback.
The Hydra commands and the demo keep the memory they free in their process
(:mod:`biogpt.experiment.process_memory`).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator

import hydra
from omegaconf import DictConfig

from biogpt.errors import ConfigError, DataFileError, print_error
from biogpt.experiment.config.overrides import exit_on_composition_error, exit_on_unknown_keys
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.config.routing import is_pretraining
from biogpt.experiment.config.validation import check_config
from biogpt.experiment.process_memory import keep_freed_memory


@contextlib.contextmanager
def user_errors_end_the_command() -> Iterator[None]:
    """A user's mistake (a setting a key does not allow, a missing or malformed file, a model that
    cannot be had, a missing optional dependency) ends the command with its message alone: one
    ``error:`` line on stderr, exit status 1. Anything else is a bug and keeps its traceback."""
    from biogpt.model.adapters import AdapterSetupError
    from biogpt.model.weights import CheckpointError
    from biogpt.optional import MissingDependencyError

    try:
        yield
    except (AdapterSetupError, CheckpointError, ConfigError, DataFileError, MissingDependencyError) as error:
        print_error(error)
        sys.exit(1)


def _hydra_command(config_name: str, job: Callable[[DictConfig], None]) -> Callable[[], None]:
    """A command composing root config ``config_name`` from the command line and running ``job``."""

    @functools.wraps(job)
    def guarded(cfg: DictConfig) -> None:
        with user_errors_end_the_command():
            check_config(cfg, config_name)
            job(cfg)

    app = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)(guarded)

    def command() -> None:
        exit_on_unknown_keys(config_name, sys.argv[1:])
        exit_on_composition_error(config_name, sys.argv[1:])
        keep_freed_memory()
        app()

    command.__doc__ = job.__doc__
    return command


def _finetune_job(cfg: DictConfig) -> None:
    """Fine-tune, evaluate, and print the run's summary."""
    from biogpt.artifacts.summary import print_run_summary
    from biogpt.experiment.finetune import train as run

    print_run_summary(run(cfg))


def _pretrain_job(cfg: DictConfig) -> None:
    """Pre-train, and print the run's summary."""
    from biogpt.artifacts.summary import print_run_summary
    from biogpt.experiment.pretrain import pretrain as run

    print_run_summary(run(cfg))


def _evaluate_job(cfg: DictConfig) -> None:
    """Score a model or generated texts on a task split."""
    from biogpt.experiment.evaluate import evaluate as run

    run(cfg)


def _generate_job(cfg: DictConfig) -> None:
    """Continue a text with a model and print it."""
    from biogpt.experiment.generate import continue_text

    print(continue_text(cfg))


def _extract_job(cfg: DictConfig) -> None:
    """Apply a model to a corpus: extractions, triples and a summary."""
    from biogpt.experiment.extract import extract as run

    run(cfg)


def _serve_job(cfg: DictConfig) -> None:
    """Serve a model over HTTP: a page, POST /extract, /health and /docs."""
    from biogpt.experiment.serve import serve as run

    run(cfg)


def _export_job(cfg: DictConfig) -> None:
    """Write a task split's processed examples as JSONL."""
    from biogpt.experiment.export import export as run

    run(cfg)


finetune = _hydra_command("train", _finetune_job)
pretrain = _hydra_command("pretrain", _pretrain_job)
evaluate = _hydra_command("evaluate", _evaluate_job)
generate = _hydra_command("generate", _generate_job)
export = _hydra_command("export", _export_job)
extract = _hydra_command("extract", _extract_job)
serve = _hydra_command("serve", _serve_job)


def train() -> None:
    """Fine-tune (``train.py``); a pre-training experiment runs :func:`pretrain`."""
    (pretrain if is_pretraining(sys.argv[1:]) else finetune)()


def report() -> None:
    from biogpt.experiment.reports.command import main

    with user_errors_end_the_command():
        status = main()
    sys.exit(status)


def demo() -> None:
    from biogpt.experiment.demo import main

    keep_freed_memory()
    with user_errors_end_the_command():
        main()


def convert() -> None:
    from biogpt.artifacts.convert import main

    with user_errors_end_the_command():
        main()


def data() -> None:
    """``biogpt-data``: fetch and check datasets, or ``validate`` a task's data (train.py's overrides);
    a missing source, a wrong checksum or an unreadable corpus ends it with its message alone (exit
    status 1), since it names the URL, the file and the digests or the line to act on."""
    from biogpt.data.download import main

    with user_errors_end_the_command():
        if sys.argv[1:2] == ["validate"]:
            from biogpt.experiment.validate import main as validate

            try:
                status = validate(sys.argv[2:])
            except ValueError as error:  # a wrong option value (task.kind=...): the message names it
                raise DataFileError(str(error)) from error
        else:
            status = main()
    sys.exit(status)
