"""Which model a fine-tuning run ends with (the ``select`` block) and what its validation score decodes,
apart from the callbacks that select it (:mod:`biogpt.training.selection`), so that the config's schema
(:mod:`biogpt.experiment.config.schema`) and the commands that never train (evaluate, generate, export,
serve) read them without importing Lightning, which costs seconds at every start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biogpt.data.tasks import TaskSettings
from biogpt.evaluation.protocol import EvalSettings
from biogpt.prompts import LayoutSettings

FINAL_MODELS: tuple[str, ...] = ("average", "last", "best")
VALID_PREFIX = "valid/"


def final_model(chosen: str | None, average_checkpoints: bool) -> str:
    """The final model a run saves: ``select.final`` where set, else the task's paper setting (the
    checkpoint average where ``task.average_checkpoints``, else the last weights)."""
    return chosen or ("average" if average_checkpoints else "last")


@dataclass(frozen=True)
class SelectSettings:
    """Which model a run ends with (``final``: average | last | best) and, for ``best``, the validation
    ``metric`` compared and the epochs scored: from epoch ``from_epoch`` (counted from 1), those whose
    number ``every_n_epochs`` divides."""

    final: str = "average"
    metric: str = "f1"
    from_epoch: int = 1
    every_n_epochs: int = 1

    def __post_init__(self) -> None:
        if self.final not in FINAL_MODELS:
            raise ValueError(f"select.final={self.final!r}; valid choices: {', '.join(FINAL_MODELS)}")
        if self.from_epoch < 1 or self.every_n_epochs < 1:
            raise ValueError(
                f"select.from_epoch and select.every_n_epochs must be >= 1, got {self.from_epoch}, "
                f"{self.every_n_epochs}"
            )

    @property
    def monitor(self) -> str:
        """The logged key the best checkpoint follows."""
        return VALID_PREFIX + self.metric

    def scores(self, epoch: int) -> bool:
        """Whether the epoch numbered ``epoch`` (from 1) is scored."""
        return epoch >= self.from_epoch and epoch % self.every_n_epochs == 0


@dataclass(frozen=True)
class ValidationData:
    """What the validation score generates and how it is scored: the task, the split and decoding
    (``settings.split`` is the validation split; ``settings.limit`` scores its first examples only), the
    sequence layout, the tokenized-corpus cache, and the training split whose targets give constrained
    decoding's template words."""

    task: TaskSettings
    settings: EvalSettings
    layout: LayoutSettings
    cache_dir: Path
    train_split: str = "train"
