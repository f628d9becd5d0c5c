"""The evaluation protocol: which examples of a split, decoded how, scored by the task's official procedure.

A training run's closing evaluation and a later ``evaluate.py`` of its ``final/`` model both call
:func:`evaluate_generator` with the same :class:`EvalSettings`, so they are one computation.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from biogpt.data.tasks import CustomTaskSettings, TaskSettings, load_task_split
from biogpt.data.tokenized import tokenized_split
from biogpt.evaluation.base import Scores
from biogpt.evaluation.custom import write_predictions_back
from biogpt.evaluation.scoring import check_ids, score_predictions, write_scores
from biogpt.generation import GenerationSettings
from biogpt.generation.tasks import Generator, constrained_vocabularies, generate_texts, template_text
from biogpt.model.precision import check_precision_name
from biogpt.prompts import LayoutSettings, build_layout, prompt_tokens

logger = logging.getLogger(__name__)

# ``ids`` value naming the examples a few-shot run trained on.
TRAINED_IDS = "train"


@dataclass(frozen=True)
class EvalSettings:
    """What is evaluated and how (the ``eval`` config block).

    ``split``: the task split, or None for no evaluation; ``ids``: only these example ids, in this
    order, or ``"train"`` for the examples a few-shot run trained on; ``limit``: only the first N (of
    ``ids``, else of the split); ``batch_size``: prefixes decoded together; ``constrained``: restrict
    generated tokens to the source's plus the task's template words; ``log_predictions``: rows of the
    predictions table sent to loggers; ``generation``: the decoding settings (greedy in the paper);
    ``dtype``: the precision the model generates in (``fp32``, ``bf16`` or ``fp16``: weights and KV cache;
    ``auto``: bf16 where the device computes it natively, else fp32).
    """

    split: str | None = "test"
    ids: tuple[str, ...] | str | None = None
    limit: int | None = None
    batch_size: int = 8
    constrained: bool = False
    log_predictions: int = 100
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    dtype: str = "fp32"

    def __post_init__(self) -> None:
        check_precision_name(self.dtype, "eval.dtype")  # an unknown precision fails here, naming the choices
        if isinstance(self.ids, str) and self.ids != TRAINED_IDS:
            raise ValueError(f"eval.ids={self.ids!r}: expected a list of example ids, or {TRAINED_IDS!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"eval.limit={self.limit}: expected a positive number of examples, or null")
        if self.batch_size < 1:
            raise ValueError(f"eval.batch_size={self.batch_size}: expected a positive number")


def selected_ids(
    settings: EvalSettings, task: TaskSettings, trained_ids: Sequence[str] | None = None
) -> list[str] | None:
    """The example ids ``ids`` and ``limit`` select, in order; None: the whole split.

    ``ids="train"`` names the examples a few-shot run trained on (``trained_ids``), which is how an
    overfitting check scores a model on exactly what it memorised.
    """
    ids: list[str] | None
    if settings.ids == TRAINED_IDS:
        if trained_ids is None:
            raise ValueError(
                "eval.ids=train needs the ids a run trained on: use it in a training run with "
                "data.train_shots set, or pass the ids of its train_summary.json as eval.ids=[...]"
            )
        ids = list(trained_ids)
    else:
        ids = None if settings.ids is None else [str(example_id) for example_id in settings.ids]
    if settings.limit is not None:
        if ids is None:
            ids = [example.id for example in load_task_split(task, _split(settings)).examples]
        ids = ids[: settings.limit]
    return ids


def model_generations(
    generator: Generator,
    task: TaskSettings,
    settings: EvalSettings,
    layout_settings: LayoutSettings,
    ids: list[str] | None,
    *,
    cache_dir: Path,
    train_split: str = "train",
) -> list[str]:
    """Decode each selected example of ``settings.split`` after its ``[source; prompt]`` prefix.

    ``train_split`` names the split whose targets give the template words of constrained decoding.
    """
    split = _split(settings)
    prompt = prompt_tokens(generator.prompt, generator.tokenizer)
    if prompt.new_tokens:
        raise ValueError(
            f"the model's tokenizer lacks the prompt tokens {list(prompt.new_tokens)[:3]}...: the prompt "
            f"{generator.prompt} does not belong to this model"
        )
    layout = build_layout(layout_settings, generator.tokenizer, prompt.ids, generator.model)
    table = tokenized_split(task, split, generator.tokenizer, cache_dir)
    sources = dict(zip(table["id"], table["source_ids"], strict=True))
    chosen = ids if ids is not None else list(table["id"])
    check_ids(chosen, list(sources), f"{task.name} {split}")
    chosen_sources = [sources[example_id] for example_id in chosen]
    allowed = None
    if settings.constrained:
        template = template_text(task, load_task_split(task, train_split).examples)
        allowed = constrained_vocabularies(generator.tokenizer, template, chosen_sources, layout.prompt_ids)
    return generate_texts(
        generator, layout, chosen_sources, settings.generation, settings.batch_size, allowed
    )


def evaluate_generator(
    generator: Generator,
    task: TaskSettings,
    settings: EvalSettings,
    layout_settings: LayoutSettings,
    out_dir: Path,
    *,
    cache_dir: Path,
    train_split: str = "train",
    trained_ids: Sequence[str] | None = None,
) -> Scores:
    """Generate, score, and write ``metrics.json`` and the predictions to ``out_dir``."""
    ids = selected_ids(settings, task, trained_ids)
    generations = model_generations(
        generator, task, settings, layout_settings, ids, cache_dir=cache_dir, train_split=train_split
    )
    flagged: set[str] = set()
    if isinstance(task, CustomTaskSettings):
        flagged = over_length_ids(generator, task, _split(settings), layout_settings, cache_dir)
    return score_and_write(task, generations, settings, ids, out_dir, over_length=flagged)


def over_length_ids(
    generator: Generator, task: TaskSettings, split: str, layout_settings: LayoutSettings, cache_dir: Path
) -> set[str]:
    """Ids of the split's examples the model reads cut (its source truncated, its target too long)."""
    prompt = prompt_tokens(generator.prompt, generator.tokenizer)
    layout = build_layout(layout_settings, generator.tokenizer, prompt.ids, generator.model)
    table = tokenized_split(task, split, generator.tokenizer, cache_dir)
    lengths = zip(table["id"], table["source_ids"], table["target_ids"], strict=True)
    return {example_id for example_id, s, t in lengths if not layout.fits(len(s), len(t))}


def score_and_write(
    task: TaskSettings,
    generations: list[str],
    settings: EvalSettings,
    ids: list[str] | None,
    out_dir: Path,
    *,
    over_length: Collection[str] = (),
) -> Scores:
    """Score generated texts (one per selected example, in order) and write the files to ``out_dir``
    (a custom brat, BioC or PubTator corpus's predictions also in its format, under ``predictions/``).

    A custom task's ``predictions.jsonl`` flags each record with ``over_length``: whether the model
    read the example cut (``over_length`` names them)."""
    scores = score_predictions(task, generations, split=_split(settings), ids=ids)
    if isinstance(task, CustomTaskSettings):
        for record in scores.records:
            record["over_length"] = record["id"] in over_length
        if over_length:
            logger.warning(
                "%d %s examples read cut (over_length in predictions.jsonl)", len(over_length), scores.split
            )
    write_scores(scores, out_dir)
    if isinstance(task, CustomTaskSettings):
        write_predictions_back(task, scores, out_dir)
    return scores


def _split(settings: EvalSettings) -> str:
    if settings.split is None:
        raise ValueError("eval.split is null: name the split to evaluate (e.g. eval.split=test)")
    return settings.split
