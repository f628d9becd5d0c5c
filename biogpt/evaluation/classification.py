"""PubMedQA and HoC: the answer after a fixed lead, scored as the release's hard_match_evaluation.py.

The release's postprocess.py writes the text after the lead (or "failed" when the lead is missing)
and its evaluation compares that string, unmodified, with the gold label:

* PubMedQA (``examples/QA-PubMedQA/hard_match_evaluation.py``): accuracy of exact string equality,
  so a failed or off-vocabulary answer is wrong and stays in the denominator. ``macro_f1`` (not
  computed by BioGPT, reported by PubMedQA's own evaluation.py) averages the per-label F1 of yes, no
  and maybe; an off-vocabulary answer is a miss for its gold label and a false alarm for none.
* HoC (``examples/DC-HoC/hard_match_evaluation.py``): answers split on "|" and stripped, binarised
  over the release's 11 labels (unknown strings ignored, repeats counted once), then micro-F1 over
  every (sentence, label) cell.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from biogpt.data.tasks import Example, HoCSettings, PubMedQASettings
from biogpt.data.tasks.pubmedqa import LABELS as PUBMEDQA_LABELS
from biogpt.evaluation.base import Scores, make_record, precision_recall_f1
from biogpt.evaluation.parsing import generation_reader

# The release evaluation's class list, in its order: the 10 hallmarks and "empty".
HOC_LABELS: tuple[str, ...] = (
    "tumor promoting inflammation",
    "inducing angiogenesis",
    "evading growth suppressors",
    "resisting cell death",
    "cellular energetics",
    "empty",
    "genomic instability and mutation",
    "sustaining proliferative signaling",
    "avoiding immune destruction",
    "activating invasion and metastasis",
    "enabling replicative immortality",
)
# What the release's postprocess.py writes for a line without the lead.
FAILED = "failed"


def accuracy_and_macro_f1(
    predicted: Sequence[str | None], gold: Sequence[str | None], labels: Sequence[str]
) -> dict[str, float]:
    """Exact-match accuracy and the mean over ``labels`` of per-label F1 (None: a failed parse).

    A label never predicted and never gold has F1 0, as scikit-learn's default gives.
    """
    if not gold:
        raise ValueError("no examples to score")
    pairs = list(zip(predicted, gold, strict=True))
    per_label = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in pairs)
        fp = sum(p == label and g != label for p, g in pairs)
        fn = sum(p != label and g == label for p, g in pairs)
        per_label.append(precision_recall_f1(tp, fp, fn)["f1"])
    accuracy = sum(p == g for p, g in pairs) / len(pairs)
    return {"accuracy": accuracy, "macro_f1": sum(per_label) / len(per_label)}


def micro_f1(
    predicted: Sequence[Collection[str]], gold: Sequence[Collection[str]], labels: Collection[str]
) -> dict[str, float]:
    """Micro precision, recall and F1 over (example, label) cells, strings outside ``labels`` ignored."""
    known = set(labels)
    tp = fp = fn = 0
    for p, g in zip(predicted, gold, strict=True):
        p_set, g_set = set(p) & known, set(g) & known
        tp += len(p_set & g_set)
        fp += len(p_set - g_set)
        fn += len(g_set - p_set)
    return precision_recall_f1(tp, fp, fn)


def split_labels(answer: str | None) -> list[str]:
    """An answer's labels as the release's evaluation reads them; a failed parse has none."""
    return [] if answer is None else [label.strip() for label in answer.split("|")]


def score_pubmedqa(
    config: PubMedQASettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """PubMedQA generations: the answer after the lead against each example's gold decision."""
    read = generation_reader(config)
    answers = [read(g).label for g in generations]
    metrics = accuracy_and_macro_f1(answers, [e.answer for e in examples], PUBMEDQA_LABELS)
    rows = zip(examples, generations, answers, strict=True)
    records = [make_record(e, g, e.answer, a, a is None) for e, g, a in rows]
    extracted = [FAILED if a is None else a for a in answers]
    return Scores(config.name, split, metrics, answers.count(None), records, {"extracted.txt": extracted})


def score_hoc(
    config: HoCSettings, split: str, examples: Sequence[Example], generations: Sequence[str]
) -> Scores:
    """HoC generations: the labels after the lead against each sentence's gold labels."""
    read = generation_reader(config)
    answers = [read(g).label for g in generations]
    predicted = [split_labels(a) for a in answers]
    metrics = micro_f1(predicted, [e.labels for e in examples], HOC_LABELS)
    records = [
        make_record(e, g, list(e.labels), None if a is None else labels, a is None)
        for e, g, a, labels in zip(examples, generations, answers, predicted, strict=True)
    ]
    extracted = [FAILED if a is None else a for a in answers]
    return Scores(config.name, split, metrics, answers.count(None), records, {"extracted.txt": extracted})
