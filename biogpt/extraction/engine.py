"""A fine-tuned model applied to new texts: what each text states, read as evaluation reads it.

The engine loads a model once (:func:`biogpt.artifacts.model_dir.load_generator`) with the task its
fine-tuning recorded in ``final/task.json`` (or the task given), then for each text builds the source
the task's reader would build from it, lays it out as training did (cut at the source's positions, and
flagged so), generates on the path ``evaluate.py`` generates on
(:func:`biogpt.generation.tasks.generate_continuations`, batches of similar length) and reads each
generation with the scorers' own reading (:func:`biogpt.evaluation.parsing.generation_reader`). The
arguments of each relation are located in the input text (case-insensitive, first occurrence).

``biogpt-extract`` runs it over corpora, ``biogpt-serve`` behind HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from biogpt.artifacts.model_dir import load_generator
from biogpt.artifacts.task_record import TaskRecord, read_task_record, trained_relation_types
from biogpt.data.custom.examples import unit_source
from biogpt.data.custom.wording import relation_wording
from biogpt.data.tasks import (
    CustomTaskSettings,
    HoCSettings,
    PubMedQASettings,
    RelationTaskSettings,
    StudyTaskSettings,
    TaskSettings,
    study_template,
)
from biogpt.data.tasks.hoc import sentence_source
from biogpt.data.tasks.relation import text_source
from biogpt.errors import ConfigError
from biogpt.evaluation.parsing import ReadGeneration, generation_reader
from biogpt.generation import GenerationSettings
from biogpt.generation.tasks import Generator, generate_continuations
from biogpt.model.loading import locate_network
from biogpt.model.precision import check_precision_name, inference_dtype
from biogpt.prompts import LayoutSettings, PromptSettings, build_layout, prompt_tokens

# Tasks whose examples are not a text alone: a question with its context.
_QUESTION_TASKS = "PubMedQA and custom QA read a question with its contexts, not a text alone"


@dataclass(frozen=True)
class ExtractionSettings:
    """What to load and how to decode.

    ``ckpt``: a model directory (a fine-tuning run's ``final/``), HF directory or hub id, or fairseq
    checkpoint; ``tokenizer``: its vocabulary when it holds none (None: the model's own, else the release's
    under ``vocab_root``). ``task``, ``target_format``, ``layout``, ``relation_types``: the task to apply
    (None: what the model's ``task.json`` records; ``target_format`` replaces the task's). ``prompt``: the
    prompt where the model records none (as ``evaluate.py``). ``generation``, ``dtype``, ``batch_size``:
    ``eval.generation``, ``eval.dtype``, ``eval.batch_size``.
    """

    ckpt: str
    vocab_root: Path
    tokenizer: str | None = None
    task: TaskSettings | None = None
    target_format: str | None = None
    layout: LayoutSettings | None = None
    relation_types: tuple[str, ...] | None = None
    prompt: PromptSettings = field(default_factory=lambda: PromptSettings(kind="none"))
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    dtype: str = "fp32"
    batch_size: int = 8

    def __post_init__(self) -> None:
        check_precision_name(self.dtype, "eval.dtype")
        if self.batch_size < 1:
            raise ValueError(f"eval.batch_size={self.batch_size}: expected a positive number")


@dataclass(frozen=True)
class Relation:
    """One stated relation; each argument's ``[start, end)`` character span in the input text where it
    is found (case-insensitive, first occurrence), None where it is not."""

    head: str
    type: str
    tail: str
    head_span: tuple[int, int] | None
    tail_span: tuple[int, int] | None


@dataclass(frozen=True)
class Extraction:
    """What the model says about one text: its generation, whether the task's scorer would count it a
    parse failure, the relations it states, a classification's labels or an answer (``label``), whether
    the source was cut at the model's source positions (``truncated``) and how many tokens were
    generated (``generated_tokens``)."""

    id: str
    generated: str
    parse_failed: bool
    relations: tuple[Relation, ...]
    label: str | None
    truncated: bool
    generated_tokens: int = 0


def argument_span(text: str, name: str) -> tuple[int, int] | None:
    """Where ``name`` first occurs in ``text``, ignoring case; None when it does not (or is empty)."""
    if not name:
        return None
    found = re.search(re.escape(name), text, flags=re.IGNORECASE)
    return None if found is None else (found.start(), found.end())


def source_builder(task: TaskSettings, relation_types: Sequence[str]) -> Callable[[str], str]:
    """How ``task``'s reader turns a document's text into an example's source: lowercased as released
    (the release's relation tasks), the study's instruction around it, HoC's final ".", a custom
    corpus's wording."""
    if isinstance(task, RelationTaskSettings):
        return lambda text: text_source(task, text)
    if isinstance(task, StudyTaskSettings):
        return study_template(task).source
    if isinstance(task, HoCSettings):
        return lambda text: sentence_source(text.strip())
    if isinstance(task, PubMedQASettings) or task.kind == "qa":
        raise ConfigError(f"task={task.name}: {_QUESTION_TASKS}; extraction applies a model to texts")
    if task.kind == "classification":
        return lambda text: sentence_source(text.strip())
    wording = relation_wording(task, relation_types)
    return lambda text: unit_source(task, wording, text)


def _needs_relation_types(task: TaskSettings) -> bool:
    if isinstance(task, RelationTaskSettings):
        return task.target_format == "svo"
    return isinstance(task, CustomTaskSettings) and task.kind == "relation"


def resolve_task(settings: ExtractionSettings, record: TaskRecord | None) -> TaskRecord:
    """The task to apply: ``settings.task`` where given, else the model's record; ``target_format``,
    ``layout`` and ``relation_types`` given in ``settings`` replace the record's. A task given without
    relation types reads them from its training split where its format needs them."""
    task = settings.task or (record.task if record is not None else None)
    if task is None:
        raise ConfigError(
            f"{settings.ckpt} records no task (task.json, written by fine-tuning): give the task it was "
            "fine-tuned on (task=...)"
        )
    if settings.target_format is not None:
        if "target_format" not in {f.name for f in fields(task)}:  # type: ignore[arg-type]
            raise ConfigError(f"task={task.name} has no target format to set to {settings.target_format!r}")
        task = replace(task, target_format=settings.target_format)  # type: ignore[call-overload]
    layout = settings.layout or (record.layout if record is not None else LayoutSettings())
    relation_types = settings.relation_types
    if relation_types is None and record is not None and settings.task is None:
        relation_types = record.relation_types
    if relation_types is None:
        relation_types = trained_relation_types(task, "train") if _needs_relation_types(task) else ()
    return TaskRecord(task, layout, tuple(relation_types))


class Extractor:
    """A loaded model with its task: :meth:`extract` texts, :meth:`describe` what is loaded."""

    def __init__(self, settings: ExtractionSettings, generator: Generator, task: TaskRecord) -> None:
        self.settings = settings
        self.generator = generator
        self.task = task
        prompt = prompt_tokens(generator.prompt, generator.tokenizer)
        self.layout = build_layout(task.layout, generator.tokenizer, prompt.ids, generator.model)
        self._source = source_builder(task.task, task.relation_types)
        self._read = generation_reader(task.task, task.relation_types)

    @staticmethod
    def check(settings: ExtractionSettings) -> TaskRecord:
        """What :meth:`load` would refuse, found without loading the model: a source that holds no
        network (:func:`locate_network`) or a task extraction does not apply to (:meth:`task_for`). A
        service checks it before it starts its workers, which would report it in a worker's traceback."""
        locate_network(settings.ckpt)
        return Extractor.task_for(settings)

    @staticmethod
    def task_for(settings: ExtractionSettings) -> TaskRecord:
        """The task the model is applied to: the one it records, or ``settings``' (see
        :func:`resolve_task`), checked to be one extraction applies to (:func:`source_builder`), without
        loading the model."""
        path = Path(settings.ckpt)
        record = resolve_task(settings, read_task_record(path) if path.is_dir() else None)
        source_builder(record.task, record.relation_types)
        return record

    @classmethod
    def load(cls, settings: ExtractionSettings) -> Extractor:
        """Load the model once, with the task it records (or ``settings``' task)."""
        task = cls.task_for(settings)
        generator = load_generator(
            settings.ckpt,
            tokenizer=settings.tokenizer,
            vocab_root=settings.vocab_root,
            prompt=settings.prompt,
            dtype=inference_dtype(settings.dtype, "eval.dtype"),
        )
        return cls(settings, generator, task)

    @property
    def max_source_tokens(self) -> int:
        """Source tokens read uncut; a longer source is cut (and its extraction flagged ``truncated``)."""
        return self.layout.max_source_positions

    def sources(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's source token ids, as the task's reader and the tokenized split build them."""
        return self.generator.tokenizer.encode_batch([self._source(text) for text in texts])

    def extract(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        generation: GenerationSettings | None = None,
    ) -> list[Extraction]:
        """What the model states about each text, in input order (``ids``: default the texts'
        positions; ``generation``: default ``settings.generation``)."""
        names = [str(i) for i in range(len(texts))] if ids is None else [str(i) for i in ids]
        if len(names) != len(texts):
            raise ValueError(f"{len(names)} ids for {len(texts)} texts")
        sources = self.sources(texts)
        outputs = generate_continuations(
            self.generator,
            self.layout,
            sources,
            generation or self.settings.generation,
            self.settings.batch_size,
        )
        decode = self.generator.tokenizer.decode
        return [
            self._extraction(name, text, source, decode(output), len(output))
            for name, text, source, output in zip(names, texts, sources, outputs, strict=True)
        ]

    def _extraction(
        self, name: str, text: str, source: list[int], generated: str, generated_tokens: int
    ) -> Extraction:
        read: ReadGeneration = self._read(generated)
        relations = tuple(
            Relation(t.head, t.relation, t.tail, argument_span(text, t.head), argument_span(text, t.tail))
            for t in read.relations
        )
        return Extraction(
            id=name,
            generated=generated,
            parse_failed=read.failed,
            relations=relations,
            label=read.label,
            truncated=len(source) > self.layout.max_source_positions,
            generated_tokens=generated_tokens,
        )

    def describe(self) -> dict[str, Any]:
        """What is loaded, for logs and health checks: model source, task, format, device, dtype."""
        model = self.generator.model
        task = self.task.task
        parameter = next(model.parameters())
        return {
            "model": self.settings.ckpt,
            "task": task.name,
            "target_format": getattr(task, "target_format", None),
            "kind": getattr(task, "kind", None),
            "prompt": self.generator.prompt.echo(),
            "device": str(parameter.device),
            "dtype": str(parameter.dtype).removeprefix("torch."),
            "max_source_tokens": self.max_source_tokens,
            "batch_size": self.settings.batch_size,
        }
