"""The one validation step of a composed config: what each key allows, checked before any work.

The schema (:mod:`biogpt.experiment.config.schema`) has already refused a value of the wrong type while Hydra
composed the config; :func:`check_config` then checks every value against its key's
:class:`~biogpt.experiment.config.rules.Rule` (ranges, positive counts, allowed names, paths that must
exist) and the root config's constraints between keys (options that exclude each other), before any
data is read or a model is built. The first problem ends
the command with :class:`~biogpt.errors.ConfigError` naming the key, the value and what is allowed.

The tables are also the README's pages of options (:mod:`biogpt.experiment.config.options_doc`): one source.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from biogpt.data.custom.settings import CORPUS_FORMATS, KINDS, LOWERCASE, MATCHES, MENTIONS, UNITS
from biogpt.data.formats import FORMATS
from biogpt.data.tasks.settings import (
    CDR_MENTIONS,
    DCE_CLASSES,
    DEFAULT_SPLITS,
    ORDERS,
    PUBMEDQA_FOLDS,
    STUDY_SCORINGS,
    STUDY_TASKS,
    STUDY_TEMPLATES,
)
from biogpt.errors import ConfigError
from biogpt.experiment.config.rules import (
    Constraint,
    Rule,
    at_most,
    choice,
    count,
    exactly_one,
    existing_file,
    expected,
    is_int,
    is_number,
    model_source,
    number,
    outside_of,
    packed_corpus,
    resume_point,
    writable_directory,
    writable_file,
)
from biogpt.extraction.corpus import SHARD_FORMATS
from biogpt.extraction.inputs import INPUT_FORMATS
from biogpt.model.adapters import PEFT_METHODS
from biogpt.model.config import PRESETS
from biogpt.model.precision import PRECISION_NAMES
from biogpt.prompts import PROMPT_KINDS, SOFT_INITS
from biogpt.serving.settings import BIND_ADDRESSES
from biogpt.training.optim import SCHEDULES
from biogpt.training.settings import FINAL_MODELS, final_model

# Inference precisions by name; ``auto`` picks one from the device.
DTYPES: tuple[str, ...] = PRECISION_NAMES
LOSS_ON: tuple[str, ...] = ("all", "target")
# Lightning's precision names (lightning.Trainer(precision=...)).
PRECISIONS: tuple[str, ...] = (
    "32-true",
    "bf16-mixed",
    "16-mixed",
    "bf16-true",
    "16-true",
    "64-true",
    "32",
    "16",
    "bf16",
    "64",
)
ACCELERATORS: tuple[str, ...] = ("cpu", "gpu", "cuda", "mps", "tpu", "auto")
# search.direction: which way a hyperparameter search's objective is better (Optuna's names).
SEARCH_DIRECTIONS: tuple[str, ...] = ("minimize", "maximize")
# search.metric: a logged metric's name, "<stage>/<name>" as Lightning records it (valid/loss, valid/f1).
METRIC_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def _devices(value: Any) -> bool:
    if value == "auto" or (is_int(value) and (value >= 1 or value == -1)):
        return True
    if isinstance(value, list):
        return bool(value) and all(is_int(index) and index >= 0 for index in value)
    return isinstance(value, str) and all(part.strip().isdigit() for part in value.split(","))


def _val_batches(value: Any) -> bool:
    return (is_int(value) and value >= 0) or (isinstance(value, float) and 0 <= value <= 1)


def _fast_dev_run(value: Any) -> bool:
    return isinstance(value, bool) or (is_int(value) and value >= 0)


def _ids(value: Any) -> bool:
    return (
        value is None
        or value == "train"
        or (isinstance(value, list) and all(isinstance(i, (str, int)) for i in value))
    )


SPLIT = choice(DEFAULT_SPLITS)
MODEL_RULES: dict[str, Rule] = {
    "seed": number(0, 2**32 - 1, integer=True),
    "tokenizer": model_source("a vocabulary (fairseq dir with bpecodes and dict.txt, HF dir)"),
    "model.preset": choice(sorted(PRESETS), nullable=True),
    "model.init": model_source("weights to start from"),
    "model.dropout": number(0, 1, high_open=True, nullable=True),
    "model.attention_dropout": number(0, 1, high_open=True, nullable=True),
}
OPTIM_RULES: dict[str, Rule] = {
    "optim.lr": number(0, low_open=True),
    "optim.warmup_updates": count(0),
    "optim.warmup_init_lr": number(0),
    "optim.betas": expected(
        "two numbers in [0, 1)",
        lambda value: (
            isinstance(value, list) and len(value) == 2 and all(is_number(b) and 0 <= b < 1 for b in value)
        ),
    ),
    "optim.eps": number(0, low_open=True),
    "optim.weight_decay": number(0),
    "optim.schedule": choice(SCHEDULES),
    "optim.warmup_fraction": number(0, 1, high_open=True),
}
TRAINER_RULES: dict[str, Rule] = {
    "trainer.accelerator": choice(ACCELERATORS),
    "trainer.devices": expected("auto, an integer >= 1 (or -1: all), or a list of device indices", _devices),
    "trainer.num_nodes": count(1),
    "trainer.precision": choice(PRECISIONS, nullable=True),
    "trainer.max_epochs": number(-1, integer=True, nullable=True),
    "trainer.max_steps": number(-1, integer=True),
    "trainer.accumulate_grad_batches": count(1),
    "trainer.gradient_clip_val": number(0, nullable=True),
    "trainer.log_every_n_steps": count(1),
    "trainer.num_sanity_val_steps": number(-1, integer=True),
    "trainer.limit_val_batches": expected(
        "an integer >= 0 (batches) or a number in [0, 1] (a fraction)", _val_batches
    ),
    "trainer.fast_dev_run": expected("true, false, or an integer >= 0 (batches)", _fast_dev_run),
}
TASK_RULES: dict[str, Rule] = {
    "task.max_source_positions": count(1),
    "task.max_positions": count(1),
    "task.lr": number(0, low_open=True),
    "task.warmup_updates": count(0),
    "task.max_epochs": number(-1, integer=True),
    "task.max_updates": number(-1, integer=True),
    "task.prompt_length": count(0),
    "task.order": choice(ORDERS),
    "task.fold": number(0, PUBMEDQA_FOLDS - 1, integer=True),
    "task.scoring": choice(STUDY_SCORINGS),
    # task=custom's own keys (its mention names are checked with the task's, below)
    "task.kind": choice(KINDS),
    "task.format": choice(CORPUS_FORMATS, nullable=True),
    "task.unit": choice(UNITS),
    "task.lowercase": choice(LOWERCASE),
    "task.verbalize": expected(
        "null or a mapping {TYPE: words}",
        lambda value: (
            value is None
            or (isinstance(value, dict) and all(isinstance(words, str) for words in value.values()))
        ),
    ),
    "task.dce_classes": choice(DCE_CLASSES),
    "task.valid_fraction": number(0, 1, low_open=True, high_open=True),
    "task.split_seed": count(0),
}
FINETUNE_RULES: dict[str, Rule] = {
    "prompt.kind": choice(PROMPT_KINDS),
    "prompt.length": count(0),
    "prompt.init": choice(SOFT_INITS),
    "data.splits.train": SPLIT,
    "data.splits.valid": SPLIT,
    "data.splits.test": SPLIT,
    "data.max_tokens": count(1, nullable=True),
    "data.batch_size": count(1, nullable=True),
    "data.update_freq": count(1),
    "data.loss_on": choice(LOSS_ON),
    "data.train_shots": count(1, nullable=True),
    "data.num_workers": count(0),
    "keep_last_epochs": count(0),
    "select.final": choice(FINAL_MODELS, nullable=True),
    "select.from_epoch": count(1),
    "select.every_n_epochs": count(1),
    "checkpoint.every_n_updates": count(1, nullable=True),
    "checkpoint.resume": resume_point(),
    "eval.split": choice(DEFAULT_SPLITS, nullable=True),
    "eval.ids": expected("null, train (the few-shot examples trained on), or a list of example ids", _ids),
    "eval.limit": count(1, nullable=True),
    "eval.batch_size": count(1),
    "eval.log_predictions": count(0),
    "eval.dtype": choice(DTYPES),
    "eval.match": choice(MATCHES),
    "peft.method": choice(PEFT_METHODS),
    "peft.r": count(1),
    "peft.alpha": number(0, low_open=True),
    "peft.dropout": number(0, 1, high_open=True),
    "eval.generation.max_new_tokens": count(1),
    "eval.generation.min_new_tokens": count(0),
    "eval.generation.beam": count(1),
    "eval.generation.length_penalty": number(),
    "eval.generation.temperature": number(0, low_open=True),
    "eval.generation.top_k": count(0),
    "eval.generation.top_p": number(0, 1, low_open=True),
    "eval.generation.no_repeat_ngram_size": count(0),
    "eval.generation.seed": number(0, 2**32 - 1, integer=True),
}
SEARCH_RULES: dict[str, Rule] = {
    "search.metric": expected(
        "a logged metric's name, <stage>/<name> (valid/loss, valid/ppl, valid/f1, ...)",
        lambda value: isinstance(value, str) and METRIC_NAME.fullmatch(value) is not None,
    ),
    "search.direction": choice(SEARCH_DIRECTIONS),
}
PRETRAIN_RULES: dict[str, Rule] = {
    "data.update_freq": count(1),
    "pretrain.corpus_dir": packed_corpus(),
    "pretrain.tokens_per_sample": count(1),
    "pretrain.blocks_per_batch": count(1),
    "pretrain.valid_every_n_updates": count(1),
    "pretrain.save_every_n_updates": count(1),
    "pretrain.resume": resume_point(),
    "pretrain.num_workers": count(0),
}
# biogpt-generate's fairseq-style names of the decoding settings -> their eval.generation keys.
_GENERATE_NAMES = {
    "beam": "beam",
    "min_len": "min_new_tokens",
    "max_len": "max_new_tokens",
    "lenpen": "length_penalty",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "no_repeat_ngram_size": "no_repeat_ngram_size",
}
GENERATE_RULES: dict[str, Rule] = {
    "ckpt": model_source("the model", nullable=False),
    "tokenizer": MODEL_RULES["tokenizer"],
    **{name: FINETUNE_RULES[f"eval.generation.{key}"] for name, key in _GENERATE_NAMES.items()},
    "seed": MODEL_RULES["seed"],
    "dtype": choice(DTYPES),
}


def existing_input() -> Rule:
    """A file, a directory, or a glob matching at least one file."""

    def problem(value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return ""
        if Path(value).exists() or glob.glob(value):
            return None
        return "no such file, directory or glob match"

    return Rule("an existing file, directory or glob", problem)


EXTRACT_RULES: dict[str, Rule] = {
    "ckpt": model_source("the model", nullable=False),
    "input": existing_input(),
    "out": writable_directory(),
    "input_format": choice(INPUT_FORMATS),
    "format": choice(SHARD_FORMATS),
    "window": count(1),
    "shard_size": count(1),
    "support": count(0),
    "tokenizer": MODEL_RULES["tokenizer"],
    "seed": MODEL_RULES["seed"],
    **TASK_RULES,
    "prompt.kind": FINETUNE_RULES["prompt.kind"],
    "prompt.length": FINETUNE_RULES["prompt.length"],
    "eval.batch_size": FINETUNE_RULES["eval.batch_size"],
    "eval.dtype": FINETUNE_RULES["eval.dtype"],
    "eval.match": FINETUNE_RULES["eval.match"],
    **{key: rule for key, rule in FINETUNE_RULES.items() if key.startswith("eval.generation.")},
    "trainer.accelerator": TRAINER_RULES["trainer.accelerator"],
    "trainer.devices": TRAINER_RULES["trainer.devices"],
    "trainer.num_nodes": TRAINER_RULES["trainer.num_nodes"],
    "trainer.precision": TRAINER_RULES["trainer.precision"],
}
# biogpt-serve: biogpt-extract's model, task and decoding keys (not its corpus and processes), and its own.
_CORPUS_KEYS = ("input", "out", "format", "window", "shard_size", "support", "trainer.")
SERVE_RULES: dict[str, Rule] = {
    **{key: rule for key, rule in EXTRACT_RULES.items() if not key.startswith(_CORPUS_KEYS)},
    "ckpt": model_source("the model to serve", nullable=False),
    "host": choice(BIND_ADDRESSES),
    "port": number(1024, 65535, integer=True),
    "serve.max_batch_size": count(1),
    "serve.batch_timeout": number(0),
    "serve.workers": count(1),
    "serve.max_chars": count(1),
    "serve.max_texts": count(1),
    "serve.max_new_tokens": count(1),
    "serve.max_beam": count(1),
    "serve.timeout": number(0, low_open=True),
}


def _target_formats(task: str) -> tuple[str, ...]:
    if task in FORMATS:
        return tuple(FORMATS[task])
    return STUDY_TEMPLATES if task in STUDY_TASKS else ()


def _format_problem(values: Mapping[str, Any]) -> str | None:
    formats = _target_formats(values["task.name"])
    if not formats or values["target_format.name"] in formats:
        return None
    return f"task {values['task.name']} has the target formats: {', '.join(formats)}"


def _mention_problem(values: Mapping[str, Any]) -> str | None:
    """A concept's name: CDR's choices are the study's and the longest; a custom corpus also has its first."""
    allowed = MENTIONS if values["task.name"] == "custom" else CDR_MENTIONS
    if values["task.mention"] in allowed:
        return None
    return f"task {values['task.name']} names a concept by one of: {', '.join(allowed)}"


def _both_unbounded(values: Mapping[str, Any]) -> str | None:
    if values["trainer.fast_dev_run"] or values["trainer.max_steps"] != -1:
        return None
    return None if values["trainer.max_epochs"] not in (None, -1) else "the run would never end"


UNBOUNDED = Constraint(
    ("trainer.max_epochs", "trainer.max_steps", "trainer.fast_dev_run"),
    "trainer.max_epochs and trainer.max_steps are not both unbounded (-1)",
    _both_unbounded,
)
TASK_FORMAT = Constraint(
    ("task.name", "target_format.name"),
    "target_format is one of the task's target formats",
    _format_problem,
)
NEW_TOKEN_BOUNDS = Constraint(
    ("eval.generation.min_new_tokens", "eval.generation.max_new_tokens"),
    "eval.generation.min_new_tokens <= eval.generation.max_new_tokens",
    lambda v: (
        None
        if v["eval.generation.min_new_tokens"] <= v["eval.generation.max_new_tokens"]
        else "the minimum exceeds the maximum"
    ),
)


def _sampling_or_beam(sampling: str, beam: str) -> Constraint:
    """Sampling draws one sequence, beam search keeps several: the decoder refuses both at once, which
    otherwise showed only when the run's first decoding started (after training)."""
    return Constraint(
        (sampling, beam),
        f"{beam} = 1 where {sampling} is true",
        lambda v: "sampling and beam search exclude each other" if v[sampling] and v[beam] > 1 else None,
    )


SAMPLING_OR_BEAM = _sampling_or_beam("eval.generation.sampling", "eval.generation.beam")


def _beam_room(minimum: str, maximum: str, beam: str) -> Constraint:
    """A beam hypothesis ends with its ``</s>`` within the maximum (the last step forces it, as fairseq
    does), so beam search cannot keep ``</s>`` away for the maximum's every step: with the minimum equal
    to it, every hypothesis died and the search returned an empty text."""
    return Constraint(
        (minimum, maximum, beam),
        f"{minimum} < {maximum} where {beam} > 1 (a beam hypothesis ends with its </s> within {maximum})",
        lambda v: (
            "beam search has no room for the </s> that ends a hypothesis"
            if v[beam] > 1 and v[minimum] >= v[maximum]
            else None
        ),
    )


BEAM_ROOM = _beam_room(
    "eval.generation.min_new_tokens", "eval.generation.max_new_tokens", "eval.generation.beam"
)


def _averages_nothing(values: Mapping[str, Any]) -> str | None:
    """Averaging (``select.final=average``, or unset where ``task.average_checkpoints``) reads the kept
    epoch checkpoints; ``keep_last_epochs=0`` keeps none, and the last weights became the final model
    without a word."""
    final = final_model(values["select.final"], values["task.average_checkpoints"])
    if final == "average" and values["keep_last_epochs"] == 0:
        return "averaging the last epochs' checkpoints needs at least one kept (or select.final=last)"
    return None


AVERAGED_EPOCHS = Constraint(
    ("select.final", "task.average_checkpoints", "keep_last_epochs"),
    "keep_last_epochs >= 1 where the final model averages the kept epochs",
    _averages_nothing,
)
FINETUNE_CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        ("model.preset", "model.init"),
        "model.preset or model.init is set",
        lambda v: (
            None
            if v["model.preset"] is not None or v["model.init"] is not None
            else "name a shape or weights"
        ),
    ),
    TASK_FORMAT,
    Constraint(
        ("task.name", "task.mention"),
        "task.mention is one of the task's (cdr: study, longest; custom: first, longest, study)",
        _mention_problem,
    ),
    Constraint(
        ("prompt.kind", "prompt.length"),
        "a soft prompt has prompt.length >= 1",
        lambda v: (
            "a soft prompt needs prompt.length >= 1"
            if v["prompt.kind"] == "soft" and v["prompt.length"] < 1
            else None
        ),
    ),
    Constraint(
        ("prompt.kind", "prompt.text"),
        "a hard prompt has a non-empty prompt.text",
        lambda v: (
            "a hard prompt needs a text"
            if v["prompt.kind"] == "hard" and not str(v["prompt.text"]).strip()
            else None
        ),
    ),
    exactly_one("data.max_tokens", "data.batch_size"),
    NEW_TOKEN_BOUNDS,
    SAMPLING_OR_BEAM,
    BEAM_ROOM,
    AVERAGED_EPOCHS,
    UNBOUNDED,
)


SERVE_CONSTRAINTS: tuple[Constraint, ...] = (
    TASK_FORMAT,
    NEW_TOKEN_BOUNDS,
    SAMPLING_OR_BEAM,
    BEAM_ROOM,
    at_most("eval.generation.max_new_tokens", "serve.max_new_tokens"),
    at_most("eval.generation.beam", "serve.max_beam"),
)


@dataclass(frozen=True)
class Checks:
    """Everything a root config's keys must satisfy."""

    rules: Mapping[str, Rule]
    constraints: tuple[Constraint, ...] = ()


_TRAIN_RULES = {
    **MODEL_RULES,
    **TASK_RULES,
    **FINETUNE_RULES,
    **OPTIM_RULES,
    **TRAINER_RULES,
    **SEARCH_RULES,
}
CHECKS: dict[str, Checks] = {
    "train": Checks(_TRAIN_RULES, FINETUNE_CONSTRAINTS),
    "evaluate": Checks(
        {
            **_TRAIN_RULES,
            "ckpt": model_source("the model to generate with"),
            "predictions": existing_file("generated texts, one per line", nullable=True),
        },
        (
            *FINETUNE_CONSTRAINTS,
            exactly_one("ckpt", "predictions"),
            Constraint(
                ("eval.split",),
                "eval.split is not null",
                lambda v: None if v["eval.split"] else "name a split",
            ),
        ),
    ),
    "export": Checks({**_TRAIN_RULES, "split": SPLIT, "out": writable_file()}, FINETUNE_CONSTRAINTS),
    "pretrain": Checks({**MODEL_RULES, **PRETRAIN_RULES, **OPTIM_RULES, **TRAINER_RULES}, (UNBOUNDED,)),
    "extract": Checks(
        EXTRACT_RULES,
        (TASK_FORMAT, NEW_TOKEN_BOUNDS, SAMPLING_OR_BEAM, BEAM_ROOM, outside_of("input", "out")),
    ),
    "generate": Checks(
        GENERATE_RULES,
        (
            Constraint(
                ("min_len", "max_len"),
                "min_len <= max_len",
                lambda v: None if v["min_len"] <= v["max_len"] else "the minimum exceeds the maximum",
            ),
            _sampling_or_beam("sampling", "beam"),
            _beam_room("min_len", "max_len", "beam"),
        ),
    ),
}
CHECKS["serve"] = Checks(SERVE_RULES, SERVE_CONSTRAINTS)

_ABSENT = object()


def _value(cfg: DictConfig, key: str) -> Any:
    """The resolved value of ``key`` as plain Python (``_ABSENT`` where the config has no such key)."""
    try:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=True)
    except MissingMandatoryValue:
        raise ConfigError(f"{key} is required: set {key}=<value>") from None
    except OmegaConfBaseException as error:
        raise ConfigError(f"{key}: {str(error).splitlines()[0]}; set {key}=<value>") from None
    return (
        OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value
    )


def _missing_keys(node: Any, prefix: str = "") -> Iterator[str]:
    """The keys of an unresolved config whose value must be given (``???``), outside Hydra's own."""
    if isinstance(node, dict):
        for name, value in node.items():
            if f"{prefix}{name}" != "hydra":
                yield from _missing_keys(value, f"{prefix}{name}.")
    elif node == "???":
        yield prefix.rstrip(".")


def check_rules(cfg: DictConfig, rules: Mapping[str, Rule]) -> dict[str, Any]:
    """Check the keys of ``rules`` that ``cfg`` has; returns their values (``_ABSENT`` where missing).
    The first problem raises :class:`ConfigError` naming the key, the value and what is allowed."""
    values: dict[str, Any] = {}
    for key, rule in rules.items():
        value = values[key] = _value(cfg, key)
        if value is _ABSENT:
            continue
        problem = rule.problem(value)
        if problem is not None:
            raise ConfigError(f"{key}={value!r}: {problem + '; ' if problem else ''}expected {rule.allowed}")
    return values


def check_config(cfg: DictConfig, config_name: str) -> None:
    """Check ``cfg`` (composed from root config ``config_name``) against its rules and constraints;
    the first problem raises :class:`ConfigError` naming the key, the value and what is allowed."""
    checks = CHECKS[config_name]
    for key in _missing_keys(OmegaConf.to_container(cfg, resolve=False)):
        allowed = f" ({checks.rules[key].allowed})" if key in checks.rules else ""
        raise ConfigError(f"{key} is required: set {key}=<value>{allowed}")
    values = check_rules(cfg, checks.rules)
    for constraint in checks.constraints:
        given = {key: values[key] if key in values else _value(cfg, key) for key in constraint.keys}
        if any(value is _ABSENT for value in given.values()):
            continue
        problem = constraint.problem(given)
        if problem is not None:
            settings = ", ".join(f"{key}={value!r}" for key, value in given.items())
            raise ConfigError(f"{settings}: {problem}; expected {constraint.text}")
