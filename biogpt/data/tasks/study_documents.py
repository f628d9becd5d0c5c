"""What the four study readers share: the document record they return and the seeded validation hold-out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.data.tasks.settings import StudyTaskSettings
from biogpt.data.tasks.types import SkippedRecord, StudyRelation

T = TypeVar("T")


@dataclass(frozen=True)
class StudyDocument:
    """One document (or DCE sentence) as read: its id, its text and its gold relations in target order."""

    id: str
    text: str
    relations: tuple[StudyRelation, ...]


@dataclass
class StudyRead:
    """A reader's result: the split's documents in corpus order and the malformed records it skipped."""

    documents: list[StudyDocument] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)


def holdout(records: Sequence[T], config: StudyTaskSettings | CustomTaskSettings, split: str) -> list[T]:
    """The ``train`` or ``valid`` part of a corpus that ships training data only, order preserved.

    ``valid`` is ``ceil(valid_fraction * n)`` records (the size Hugging Face's ``train_test_split``
    gives the study's ``test_size=0.2``) drawn with ``random.Random(split_seed)``; ``train`` is the
    rest. The study drew its hold-out without a seed, so its exact partition cannot be reproduced; a
    seed makes ours the same on every run and for every model compared.
    """
    count = math.ceil(config.valid_fraction * len(records))
    chosen = set(random.Random(config.split_seed).sample(range(len(records)), count))
    keep = split == "valid"
    return [record for index, record in enumerate(records) if (index in chosen) == keep]
