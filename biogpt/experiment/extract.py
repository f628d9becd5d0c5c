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
from typing import Any

import lightning as L
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from biogpt.experiment.build import build_trainer
from biogpt.experiment.config.settings import extraction_settings, plain, settings
from biogpt.experiment.logging import print_lightning_logs_once
from biogpt.extraction.corpus import CorpusSettings, run_rank, summary_table, write_results
from biogpt.extraction.engine import ExtractionSettings
from biogpt.extraction.inputs import InputSettings

logger = logging.getLogger(__name__)


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
