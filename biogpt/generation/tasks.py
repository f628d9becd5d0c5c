"""Generating a task split's outputs from a trained model, as the release's inference does.

Each example's prefix is ``[</s>; source; prompt]`` (see :mod:`biogpt.data.sequences`), or, for an
encoder-decoder, its encoder reads ``[source; prompt]`` and its decoder starts from its start token; the
model continues it (greedy by default, the paper's setting) and the continuation is decoded to text, which
the scorers parse. Examples are generated in batches of similar prefix length and returned in the
split's order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from biogpt.data.custom.examples import custom_wording
from biogpt.data.formats import Triplet, get_format
from biogpt.data.sequences import SequenceLayout
from biogpt.data.tasks import (
    CustomTaskSettings,
    Example,
    RelationTaskSettings,
    StudyTaskSettings,
    TaskSettings,
    template_words,
)
from biogpt.generation.decoding import GenerationSettings, generate
from biogpt.model.backbone import Backbone
from biogpt.prompts import PromptSettings
from biogpt.tokenizer.protocol import Tokenizer

logger = logging.getLogger(__name__)


@dataclass
class Generator:
    """A model with the tokenizer and prompt it was trained with (see :mod:`biogpt.artifacts.model_dir`)."""

    model: Backbone
    tokenizer: Tokenizer
    prompt: PromptSettings


def template_text(config: TaskSettings, train_examples: Sequence[Example]) -> str:
    """The task's output words apart from entity names: what constrained decoding adds to the source.

    Relation tasks: the format's clause template with empty entity slots, for each relation of the
    training set, plus the clause joiner and the final "."; the study's tasks: their template's words
    (clauses with empty slots, joiners, the no-relation sentence), as a custom relation corpus's wording
    gives them; PubMedQA, HoC and custom classification and QA: their training targets (a closed set of
    sentences).
    """
    if isinstance(config, RelationTaskSettings):
        fmt = get_format(config.name, config.target_format)
        relations = {triplet.relation for example in train_examples for triplet in example.triplets}
        parts = {fmt.render_clause(Triplet("", relation, "")) for relation in relations} | {fmt.joiner, "."}
    elif isinstance(config, StudyTaskSettings):
        parts = template_words(config)
    elif isinstance(config, CustomTaskSettings) and config.kind == "relation":
        parts = custom_wording(config, train_examples).words()
    else:
        parts = {example.target for example in train_examples}
    return " ".join(sorted(parts))


def constrained_vocabularies(
    tokenizer: Tokenizer, template: str, sources: list[list[int]], prompt_ids: Sequence[int]
) -> list[set[int]]:
    """Per example: the source's tokens, the template's and the prompt's (which a model may echo)."""
    shared = set(tokenizer.encode(template)) | set(prompt_ids)
    return [shared | set(source) for source in sources]


def generate_texts(
    generator: Generator,
    layout: SequenceLayout,
    sources: list[list[int]],
    config: GenerationSettings,
    batch_size: int,
    allowed: list[set[int]] | None = None,
) -> list[str]:
    """Decoded continuation of each source's prefix, in input order (``allowed``: constrained decoding)."""
    outputs = generate_continuations(generator, layout, sources, config, batch_size, allowed)
    return [generator.tokenizer.decode(output) for output in outputs]


def generate_continuations(
    generator: Generator,
    layout: SequenceLayout,
    sources: list[list[int]],
    config: GenerationSettings,
    batch_size: int,
    allowed: list[set[int]] | None = None,
) -> list[list[int]]:
    """The generated token ids continuing each source's prefix, in input order: batches of
    ``batch_size`` prefixes of similar length (sorted by length, so a batch pads little)."""
    prefixes = [layout.prefix(source) for source in sources]
    order = sorted(range(len(prefixes)), key=lambda index: len(prefixes[index]))
    continuations: list[list[int]] = [[] for _ in prefixes]
    tokenizer = generator.tokenizer
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        outputs = generate(
            generator.model,
            [prefixes[i] for i in chunk],
            config,
            eos_id=tokenizer.eos_id,
            pad_id=tokenizer.pad_id,
            allowed=[allowed[i] for i in chunk] if allowed is not None else None,
            encoder_inputs=[layout.encoder_input(sources[i]) for i in chunk] if layout.encoder else None,
        )
        for index, output in zip(chunk, outputs, strict=True):
            continuations[index] = output
        logger.info("generated %d/%d", min(start + batch_size, len(order)), len(order))
    return continuations
