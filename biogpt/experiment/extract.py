"""The extraction job (``biogpt-extract``): a model and a corpus in, extractions, triples and a summary out.

Typed settings come from the composed config here; the work is :mod:`biogpt.extraction.corpus`'s. The
processes are Lightning's: ``trainer=cpu`` runs one, ``trainer=ddp_cpu`` two over gloo, ``trainer=ddp``
one per GPU (and node, under SLURM or torchrun, e.g. with ``-m hydra/launcher=slurm``). Each process
runs one prediction step that extracts its share of the input (the documents whose position is its
rank modulo the number of processes) into its own shards, then waits for the others; the first
process then joins the shards into the triples and the summary.
"""

from __future__ import annotations

import logging
import time
from dataclasses import fields
from typing import Any

import lightning as L
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from biogpt.data.tasks import CustomTaskConfig, TaskConfig, task_config_class
from biogpt.experiment.build import build_trainer
from biogpt.experiment.logging import print_lightning_logs_once
from biogpt.experiment.settings import plain, prompt_config, settings, vocab_root
from biogpt.extraction.corpus import CorpusSettings, run_rank, summary_table, write_results
from biogpt.extraction.engine import ExtractionSettings
from biogpt.extraction.inputs import InputSettings
from biogpt.generation import GenerationConfig
from biogpt.prompts import LayoutSettings, PromptConfig

logger = logging.getLogger(__name__)


def _task_override(cfg: DictConfig) -> TaskConfig | None:
    """The task given on the command line (``task=...``), None where the model's record applies."""
    if cfg.task is None:
        return None
    cls = task_config_class(cfg.task.name)
    extra: dict[str, Any] = {"data_dir": str(cfg.data_dir)}
    if cfg.target_format is not None and "target_format" in {f.name for f in fields(cls)}:
        extra["target_format"] = cfg.target_format.name
    if cls is CustomTaskConfig:
        extra["match"] = cfg.eval.match
    return settings(cls, cfg.task, **extra)


def extraction_settings(cfg: DictConfig) -> ExtractionSettings:
    """The engine's settings: the model, the overrides given, ``eval``'s decoding."""
    task = _task_override(cfg)
    return ExtractionSettings(
        ckpt=str(cfg.ckpt),
        vocab_root=vocab_root(cfg),
        tokenizer=None if cfg.tokenizer is None else str(cfg.tokenizer),
        task=task,
        target_format=None if cfg.target_format is None or task is not None else str(cfg.target_format.name),
        layout=None if task is None else settings(LayoutSettings, cfg.task),
        prompt=prompt_config(cfg) if cfg.prompt is not None else PromptConfig(kind="none"),
        generation=settings(GenerationConfig, cfg.eval.generation),
        dtype=str(cfg.eval.dtype),
        batch_size=int(cfg.eval.batch_size),
    )


def corpus_settings(cfg: DictConfig) -> CorpusSettings:
    block = plain(cfg)
    source = InputSettings(
        path=str(cfg.input),
        format=block["input_format"],
        id_field=block["id_field"],
        text_field=block["text_field"],
    )
    return settings(CorpusSettings, {k: v for k, v in block.items() if k != "input"}, input=source)


class _ExtractionStep(L.LightningModule):
    """One prediction step per process: extract the process's share of the corpus, then wait for all."""

    def __init__(self, extraction: ExtractionSettings, corpus: CorpusSettings) -> None:
        super().__init__()
        self.extraction = extraction
        self.corpus = corpus

    def predict_step(self, batch: Any, batch_idx: int) -> int:
        trainer = self.trainer
        extracted = run_rank(self.extraction, self.corpus, trainer.global_rank, trainer.world_size)
        trainer.strategy.barrier("extraction")
        return extracted


def extract(cfg: DictConfig) -> dict[str, Any]:
    """Run the extraction over the configured processes; returns the summary (on the first process)."""
    print_lightning_logs_once()
    began = time.perf_counter()
    extraction, corpus = extraction_settings(cfg), corpus_settings(cfg)
    trainer = build_trainer(cfg)  # no logger group: no loggers
    one_step = DataLoader([0], batch_size=1)
    trainer.predict(_ExtractionStep(extraction, corpus), dataloaders=one_step, return_predictions=False)
    if not trainer.is_global_zero:
        return {}
    summary = write_results(corpus, trainer.world_size, time.perf_counter() - began)
    print(summary_table(summary))
    out = corpus.out
    print(f"extractions: {out}/extractions  triples: {out}/triples.tsv  summary: {out}/summary.json")
    return summary
