"""Experiment loggers: a W&B logger that never blocks a run, and what a run sends to its loggers.

The ``logger`` config group builds Lightning loggers (CSV, TensorBoard, W&B, in any combination; W&B
through ``biogpt.experiment.loggers``, which names a run after its Hydra sweep); the pipeline hands
``trainer.loggers`` to :func:`log_run_config`, :func:`log_evaluation` and :func:`finish_loggers`, which
know what each logger type can show. Per-type behaviour lives in the two
``functools.singledispatch`` functions at the end, and nowhere else.

W&B is online only when credentials exist (``WANDB_API_KEY``, ``wandb login``); otherwise, or when the
server cannot be reached, the run is written offline under the run directory (``wandb sync`` uploads it
later). The run starts lazily, on global rank 0 only, as Lightning's own ``WandbLogger`` does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import singledispatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher
from lightning.pytorch.utilities.rank_zero import rank_zero_only

if TYPE_CHECKING:  # imported where a W&B run starts: a second at every start of every other run
    import wandb

logger = logging.getLogger(__name__)

# W&B modes that never contact a server, so never need credentials.
LOCAL_MODES = frozenset({"offline", "dryrun", "disabled"})
PREDICTION_COLUMNS = ("id", "source", "generated", "gold", "parsed", "parse_failed")
SOURCE_EXCERPT_CHARS = 300


# --- W&B -------------------------------------------------------------------------------------------


def wandb_logger(
    save_dir: str,
    project: str = "biogpt",
    entity: str | None = None,
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] | None = None,
    mode: str | None = None,
    init_timeout: float = 60.0,
) -> OfflineFallbackWandbLogger:
    """A W&B logger writing under ``save_dir``; ``name`` and ``group`` are taken as given.

    ``None`` leaves the run ungrouped and lets W&B generate its name; naming runs after a Hydra sweep is the
    experiment layer's job (``biogpt.experiment.loggers``), so this factory works without Hydra. ``mode``
    (overridden by ``WANDB_MODE``) is ``online``, ``offline`` or ``disabled``; ``None`` means online exactly
    when credentials are available. Nothing is contacted here: the run starts on first use.
    """
    return OfflineFallbackWandbLogger(
        mode=mode,
        init_timeout=init_timeout,
        save_dir=str(save_dir),
        project=project,
        entity=entity,
        name=name,
        group=group,
        tags=list(tags) if tags else None,
    )


def resolve_wandb_mode(configured: str | None) -> str:
    """The mode a run starts in: ``WANDB_MODE``, else ``configured``, but never online without credentials.

    Credentials are looked up without prompting (``wandb.login(prompt=False)``), so a run without an
    account goes offline instead of asking for an API key or failing.
    """
    requested = os.environ.get("WANDB_MODE") or configured
    if requested in LOCAL_MODES:
        return requested
    import wandb

    if wandb.login(prompt=False, verify=False):
        return requested or "online"
    logger.log(
        logging.WARNING if requested else logging.INFO,
        "W&B: no credentials (WANDB_API_KEY or `wandb login`), so the run is logged offline under wandb/ "
        "in the run directory; upload it later with `wandb sync`",
    )
    return "offline"


class OfflineFallbackWandbLogger(WandbLogger):
    """Lightning's ``WandbLogger`` whose run never blocks training on W&B.

    The run starts lazily on global rank 0 (Lightning's ``rank_zero_experiment``), so under DDP the other
    ranks never create one. An online start that fails (no network, a rejected key) is retried offline,
    and a run left active by an earlier job of the same process (a crashed multirun job) is finished
    rather than reused.
    """

    def __init__(self, *, mode: str | None, init_timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mode = mode
        self._init_timeout = init_timeout
        self._owns_run = False

    @property
    @rank_zero_experiment
    def experiment(self) -> wandb.Run:
        # A spawned DDP worker attaches to the run its parent started (Lightning's `_attach_id`).
        if self._experiment is None and getattr(self, "_attach_id", None) is None:
            self._experiment = self._start_run()
        return super().experiment

    def _start_run(self) -> wandb.Run:
        import wandb

        mode = resolve_wandb_mode(self._mode)
        Path(self.save_dir).mkdir(parents=True, exist_ok=True)  # wandb falls back to /tmp otherwise
        init = {
            # Lightning always passes `anonymous`, which recent wandb warns has no effect.
            **{key: value for key, value in self._wandb_init.items() if key != "anonymous"},
            "mode": mode,
            "reinit": "finish_previous",
            "settings": wandb.Settings(init_timeout=self._init_timeout),
        }
        try:
            run = wandb.init(**init)
        except Exception as error:  # any failure to go online; a local failure re-raises from the retry
            if mode in LOCAL_MODES:
                raise
            logger.warning("W&B: could not start an online run (%s); logging offline instead", error)
            run = wandb.init(**{**init, "mode": "offline"})
        # Lightning's x-axis: every metric is plotted against the trainer's step.
        run.define_metric("trainer/global_step")
        run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
        self._owns_run = True
        return run

    @rank_zero_only
    def finish(self, exit_code: int = 0) -> None:
        """End the run this logger started. Idempotent.

        The W&B service writes the run's last records and closes its files just after this returns (it is
        told so without waiting for an answer); ``wandb.teardown()`` waits until that is done.
        """
        if self._owns_run:
            self._experiment.finish(exit_code=exit_code)


# --- What a run sends to its loggers ----------------------------------------------------------------


@rank_zero_only
def log_run_config(loggers: Iterable[Logger], params: Mapping[str, Any]) -> None:
    """Log the run's parameters (the resolved config, as plain values) as every logger's hyperparameters.

    Each Lightning logger stores them its own way: W&B as the run config (nested), TensorBoard flattened
    (``a/b``), with lists and ``None`` as text, CSV as ``hparams.yaml``. Each gets its own ``dict``: the CSV
    logger accepts nothing else, and no logger can change the caller's mapping.
    """
    for each in loggers:
        each.log_hyperparams(dict(params))


@rank_zero_only
def log_evaluation(
    loggers: Iterable[Logger],
    metrics: Mapping[str, float],
    records: Sequence[Mapping[str, Any]],
    *,
    prefix: str = "test",
    step: int | None = None,
    max_rows: int | None = 100,
    source_texts: Mapping[str, str] | None = None,
) -> None:
    """Send a split's scores (``<prefix>/<metric>``) to every logger, and its first predictions to those
    that can show them (W&B: a table; TensorBoard: a markdown text). ``max_rows=None`` shows all.

    ``source_texts`` maps an example id to its input text, shown as an excerpt beside the prediction.
    """
    scores = {f"{prefix}/{key}": float(value) for key, value in metrics.items()}
    table = PredictionTable.from_records(records, max_rows, source_texts or {})
    for each in loggers:
        each.log_metrics(scores, step=step)
        _log_predictions(each, prefix, scores, table, step)


@rank_zero_only
def finish_loggers(loggers: Iterable[Logger], *, status: str = "success") -> None:
    """Flush and close every logger (and end the W&B run), e.g. before the next job of a multirun.

    Safe to call twice, and after Lightning's own ``finalize`` at the end of ``fit``.
    """
    for each in loggers:
        _finish(each, status)


def live_loggers(trainer: Trainer) -> list[Logger]:
    """The trainer's loggers where this process still owns them after ``fit``.

    A strategy that spawns its worker processes (``trainer=ddp_cpu``) logs from copies of the loggers
    in the workers; the copies left in this process no longer match what was written (the CSV file's
    columns, the W&B run), so nothing more is logged to them: the closing scores are in metrics.json.
    """
    if isinstance(trainer.strategy.launcher, _MultiProcessingLauncher):
        logger.info(
            "the run's loggers lived in spawned processes: the closing scores are in metrics.json only"
        )
        return []
    return list(trainer.loggers)


@contextmanager
def closing_loggers(trainer: Trainer) -> Iterator[None]:
    """Finish the trainer's live loggers when the block ends: "failed" if it raised, so a crashed job of
    a multirun is recorded as failed rather than closed as a success by the next job's start."""
    try:
        yield
    except BaseException:
        finish_loggers(live_loggers(trainer), status="failed")
        raise
    finish_loggers(live_loggers(trainer))


# --- Prediction tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionTable:
    """The first rows of an evaluation's per-example records, as display values, and how many there were."""

    rows: list[list[Any]]
    total: int
    columns: tuple[str, ...] = PREDICTION_COLUMNS

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], max_rows: int | None, source_texts: Mapping[str, str]
    ) -> PredictionTable:
        shown = records if max_rows is None else records[:max_rows]
        rows = [
            [
                str(record["id"]),
                excerpt(source_texts.get(record["id"], "")),
                str(record["generated"]),
                render_answer(record["gold"]),
                render_answer(record["parsed"]),
                bool(record["parse_failed"]),
            ]
            for record in shown
        ]
        return cls(rows, len(records))

    @property
    def caption(self) -> str:
        """Says how much is shown, so a truncated table is never mistaken for the whole split."""
        if len(self.rows) == self.total:
            return f"all {self.total} examples"
        return f"the first {len(self.rows)} of {self.total} examples"

    def markdown(self, title: str) -> str:
        rule = _markdown_row(["---"] * len(self.columns))
        lines = [f"**{title}**: {self.caption}", "", _markdown_row(self.columns), rule]
        return "\n".join([*lines, *map(_markdown_row, self.rows)])


def render_answer(value: Any) -> str:
    """A gold or parsed answer on one line: list items joined by ``"; "``, a triplet as ``(a, b, c)``.

    ``None`` (nothing parsed) is empty; an empty list (no relation) reads ``(none)``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {render_answer(item)}" for key, item in value.items())
    if isinstance(value, Sequence):
        if not value:
            return "(none)"
        return "; ".join(_render_item(item) for item in value)
    return str(value)


def _render_item(item: Any) -> str:
    if isinstance(item, Sequence) and not isinstance(item, str):
        return "(" + ", ".join(map(str, item)) + ")"
    return render_answer(item)


def excerpt(text: str, limit: int = SOURCE_EXCERPT_CHARS) -> str:
    """The start of a source text, marked when cut, so a table stays readable."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _markdown_row(cells: Iterable[Any]) -> str:
    return "| " + " | ".join(" ".join(str(cell).split()).replace("|", "\\|") for cell in cells) + " |"


# --- Per-logger-type behaviour ----------------------------------------------------------------------


@singledispatch
def _log_predictions(
    target: Logger, prefix: str, scores: dict[str, float], table: PredictionTable, step: int | None
) -> None:
    """Loggers without a place for per-example output (CSV) keep only the metrics."""


@_log_predictions.register
def _(
    target: WandbLogger, prefix: str, scores: dict[str, float], table: PredictionTable, step: int | None
) -> None:
    target.log_table(f"{prefix}/predictions", columns=list(table.columns), data=table.rows, step=step)
    # The run summary is what W&B's run table compares across runs; the counts say what the table holds.
    shown = {f"{prefix}/predictions_shown": len(table.rows), f"{prefix}/examples": table.total}
    target.experiment.summary.update({**scores, **shown})


@_log_predictions.register
def _(
    target: TensorBoardLogger, prefix: str, scores: dict[str, float], table: PredictionTable, step: int | None
) -> None:
    text = table.markdown(f"{prefix} predictions")
    target.experiment.add_text(f"{prefix}/predictions", text, global_step=step)


@singledispatch
def _finish(target: Logger, status: str) -> None:
    target.finalize(status)


@_finish.register
def _(target: OfflineFallbackWandbLogger, status: str) -> None:
    target.finalize(status)
    target.finish(exit_code=0 if status == "success" else 1)
