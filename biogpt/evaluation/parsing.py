"""Generated relation sentences back to triplets, configured as the task's examples were rendered."""

from __future__ import annotations

from collections.abc import Sequence

from biogpt.data.formats import ParseResult, Triplet, get_format, parse_target
from biogpt.data.tasks import Example, RelationTaskConfig


def parse_relation_generations(
    config: RelationTaskConfig, examples: Sequence[Example], generations: Sequence[str]
) -> list[ParseResult]:
    """Each generation parsed in the config's target format with the release's greedy defaults.

    Formats that render relations as verbs (svo) map verbs back through a relation vocabulary; it is
    the sorted set of the split's gold relations, i.e. the task's closed label set, not per-document
    knowledge. With ``keep_empty`` the task's empty target parses to no triplets, not to a failure.
    """
    fmt = get_format(config.name, config.target_format)
    relations = sorted({t.relation for e in examples for t in e.triplets}) if fmt.needs_relations else None
    empty_target = config.empty_target if config.keep_empty else None
    return [parse_target(g, fmt, relations=relations, empty_target=empty_target) for g in generations]


def triplet_rows(triplets: Sequence[Triplet]) -> list[list[str]]:
    """Triplets as JSON rows ``[head, relation, tail]`` for predictions.jsonl."""
    return [[t.head, t.relation, t.tail] for t in triplets]
