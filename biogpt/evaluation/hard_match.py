"""KD-DTI and DDI: the release's hard-match evaluation of (drug, target, interaction) triples.

Reproduces ``examples/RE-DTI/hard_match_evaluation.py`` of microsoft/BioGPT (RE-DDI ships the same
code). Every string is stripped, lowercased and stripped of spaces; a document's triples form a set.
Two normalisations of each set are compared, and a document gets the better score of the two, so a
name and its bracketed abbreviation ("monoamine oxidase type a (mao-a)") both count as a match:

* the abbreviation variant keeps only the text inside a trailing bracket pair;
* the name variant drops the trailing bracket pair.

Each variant then normalises the string: a final single digit after a non-digit becomes an upper-case
roman numeral, "-type" is removed, and every run of characters outside ``[a-zA-Z0-9]`` is deleted.
The release's sample-level scores are means over documents of per-document precision, recall and F1;
its ontology-level scores apply the same comparison to the corpus-wide sets of unique triples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from biogpt.data.formats import ParseResult, Triplet
from biogpt.data.tasks import Example, RelationTaskSettings
from biogpt.evaluation.base import Scores, f1_score, make_record
from biogpt.evaluation.parsing import parse_relation_generations, triplet_rows

# The release's (drug, target, interaction) key: the order is irrelevant to set comparisons but kept.
TripleKey = tuple[str, str, str]

_ROMAN = dict(zip("0123456789", ("0", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"), strict=True))
_NON_ALPHANUMERIC = re.compile("[^a-zA-Z0-9]+")
# The release's postprocess.py marks a line it could not parse with a single ("failed", ...) triple,
# and the evaluation treats any prediction whose first subject is "failed" as empty.
FAILED = "failed"


def normalize_name(text: str) -> str:
    """The release's final normalisation: roman type number, "-type" removed, alphanumerics only.

    The digit rule uses ``str.isnumeric`` for the preceding character, as released, so "type²1" is
    left alone; the roman numeral is upper case and is never lowercased afterwards.
    """
    text = text.strip()
    if len(text) > 2 and text[-1] in _ROMAN and not text[-2].isnumeric():
        text = text[:-1] + _ROMAN[text[-1]]
    return _NON_ALPHANUMERIC.sub("", text.replace("-type", ""))


def _bracket(text: str) -> int | None:
    """Where the trailing bracket pair opens (the last "("), or None when the text has none."""
    return text.rfind("(") if "(" in text and text.endswith(")") else None


def name_variant(text: str) -> str:
    """The normalised text without its trailing bracket pair: "aaa (bb)" -> "aaa"."""
    text = text.strip()
    opening = _bracket(text)
    return normalize_name(text if opening is None else text[:opening])


def abbreviation_variant(text: str) -> str:
    """The normalised text inside the trailing bracket pair ("aaa (bb)" -> "bb"), or all of it without one."""
    text = text.strip()
    opening = _bracket(text)
    return normalize_name(text if opening is None else text[opening + 1 : -1])


# The release evaluates the abbreviation variant first; max() makes the order irrelevant.
VARIANTS: tuple[Callable[[str], str], ...] = (abbreviation_variant, name_variant)


def triple_key(triplet: Triplet) -> TripleKey:
    """The release's comparison key before normalisation: each part stripped, lowercased, spaces removed."""

    def clean(part: str) -> str:
        return part.strip().lower().replace(" ", "")

    return clean(triplet.head), clean(triplet.tail), clean(triplet.relation)


def predicted_keys(triplets: Sequence[Triplet]) -> set[TripleKey]:
    """A document's predicted keys; a prediction starting with the "failed" marker is empty, as released."""
    if triplets and triplets[0].head == FAILED:
        return set()
    return {triple_key(t) for t in triplets}


def _normalized(keys: Collection[TripleKey], variant: Callable[[str], str]) -> set[tuple[str, ...]]:
    return {tuple(variant(part) for part in key) for key in keys}


def _precision(predicted: set[tuple[str, ...]], gold: set[tuple[str, ...]]) -> float:
    """Correct over predicted; with nothing predicted, 1 exactly when nothing was to be found."""
    if not predicted:
        return float(predicted == gold)
    return len(predicted & gold) / len(predicted)


def _recall(predicted: set[tuple[str, ...]], gold: set[tuple[str, ...]]) -> float:
    """Correct over gold; with no gold triple, 1 exactly when nothing was predicted."""
    if not gold:
        return float(predicted == gold)
    return len(predicted & gold) / len(gold)


@dataclass(frozen=True)
class MatchScore:
    """Precision, recall and F1 of one set comparison, each of P and R the better of the two variants."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)


def match(predicted: Collection[TripleKey], gold: Collection[TripleKey]) -> MatchScore:
    """The release's ``normed_eval`` for precision and for recall (each maximised on its own)."""
    pairs = [(_normalized(predicted, v), _normalized(gold, v)) for v in VARIANTS]
    return MatchScore(max(_precision(p, g) for p, g in pairs), max(_recall(p, g) for p, g in pairs))


def hard_match_metrics(
    predicted: Sequence[Collection[TripleKey]], gold: Sequence[Collection[TripleKey]]
) -> tuple[dict[str, float], list[MatchScore]]:
    """Corpus metrics and per-document scores of aligned predicted and gold key sets.

    ``f1`` is the mean of per-document F1 (the release's "tp micro f1", the figure BioGPT reports);
    ``f1_of_means`` is the F1 of mean precision and mean recall (its "tp macro f1").
    """
    if not gold:
        raise ValueError("no documents to score")
    documents = [match(p, g) for p, g in zip(predicted, gold, strict=True)]
    count = len(documents)
    precision = sum(d.precision for d in documents) / count
    recall = sum(d.recall for d in documents) / count
    ontology = match(set().union(*predicted), set().union(*gold))
    metrics = {
        "precision": precision,
        "recall": recall,
        "f1": sum(d.f1 for d in documents) / count,
        "f1_of_means": f1_score(precision, recall),
        "ontology_precision": ontology.precision,
        "ontology_recall": ontology.recall,
        "ontology_f1": ontology.f1,
    }
    return metrics, documents


def release_extracted_line(result: ParseResult) -> str:
    """One line of the release's ``*.extracted.json`` (RE-DTI/RE-DDI postprocess.py), key order included."""
    triplets = result.triplets if not result.failed else (Triplet(FAILED, FAILED, FAILED),)
    predictions = [{"subject": t.head, "relation": t.relation, "object": t.tail} for t in triplets]
    line = {"triple_list_gold": [], "triple_list_pred": predictions, "new": [], "lack": [], "id": [0]}
    return json.dumps(line)


def score_hard_match(
    config: RelationTaskSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """KD-DTI or DDI generations scored against the examples' gold triples by hard match.

    The release reads gold triples from the raw JSON, lowercased and space-stripped as the examples'
    (already lowercased) triplets are here; documents the release drops have no example to score.
    ``pmids.txt`` lists the document ids, the third argument of the release's evaluation script.
    """
    parsed = parse_relation_generations(config, examples, generations)
    gold = [{triple_key(t) for t in e.triplets} for e in examples]
    metrics, documents = hard_match_metrics([predicted_keys(p.triplets) for p in parsed], gold)
    records = []
    for example, generated, result, document in zip(examples, generations, parsed, documents, strict=True):
        record = make_record(
            example, generated, triplet_rows(example.triplets), triplet_rows(result.triplets), result.failed
        )
        record.update(precision=document.precision, recall=document.recall, f1=document.f1)
        records.append(record)
    release_files = {
        "extracted.json": [release_extracted_line(p) for p in parsed],
        "pmids.txt": [e.id for e in examples],
    }
    failures = sum(p.failed for p in parsed)
    return Scores(config.name, split, metrics, failures, records, release_files)
