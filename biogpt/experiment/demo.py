"""The embedded demo: the paper's whole pipeline, in miniature, on the sample shipped in ``demo/data``.

    python -m biogpt.demo [--out outputs/demo]

Five steps, each the framework's own code path at toy scale, offline and on CPU in a few minutes:

1. build a pre-training corpus from the sample PubMed XML (:mod:`biogpt.data.pubmed.corpus`);
2. learn a BPE vocabulary on it, as BioGPT learned its own on PubMed (:mod:`biogpt.tokenizer.learn`);
3. pack it into blocks (:mod:`biogpt.data.pubmed.packing`) and pre-train a 4-layer BioGPT (``model=mini``);
4. prompt-fine-tune that model on the sample KD-DTI relation extraction task (soft prompt, rel-is
   targets), averaging the last epoch checkpoints;
5. evaluate the averaged model on the sample test split with the release's hard-match scoring.

The sample is synthetic (see ``demo/README.md``): the scores show the pipeline works end to end, not
what BioGPT achieves on the real KD-DTI.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from rich.console import Console
from rich.table import Table

from biogpt.artifacts.summary import format_metric, print_paths
from biogpt.data.pubmed.corpus import iter_documents, write_dataset
from biogpt.data.pubmed.packing import pack_corpus
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.config.validation import check_config
from biogpt.textfiles import output_directory
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.learn import learn_vocabulary

# The sample shipped beside the package in a checkout (demo/README.md says how it was made).
DEMO_DATA = Path(__file__).resolve().parents[2] / "demo" / "data"

# The toy scale: a vocabulary, block size and number of updates that a 2-core CPU gets through in
# about two minutes, yet large enough for the fine-tuned model to extract relations.
BPE_MERGES = 2000
TOKENS_PER_SAMPLE = 128

PRETRAIN_OVERRIDES = [
    "experiment=pretrain_tiny",
    "model=mini",
    f"pretrain.tokens_per_sample={TOKENS_PER_SAMPLE}",
    "pretrain.blocks_per_batch=8",
    "pretrain.valid_every_n_updates=100",
    "pretrain.save_every_n_updates=100",
    "data.update_freq=1",
    "optim.lr=3e-3",
    "optim.warmup_updates=30",
    "trainer.max_steps=300",
    "trainer.log_every_n_steps=20",
]

FINETUNE_OVERRIDES = [
    "task=kd_dti",
    "target_format=rel-is",
    "prompt=soft",
    "model=mini",
    "data.update_freq=1",
    "data.max_tokens=2048",
    # The loss on the target only (the release takes it on the whole sequence): at this scale the model
    # then learns to copy entity names within the time budget.
    "data.loss_on=target",
    "optim.lr=5e-3",
    "optim.warmup_updates=20",
    "trainer.max_epochs=35",
    "keep_last_epochs=3",
    "eval.batch_size=24",
    "eval.generation.max_new_tokens=48",
]


def compose_run(config_name: str, run_dir: Path, overrides: Sequence[str]) -> Any:
    """The config ``train.py`` (``pretrain.py``) would compose, writing into ``run_dir``, checked as
    those commands check theirs."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            overrides=[f"run_dir={run_dir}", f"data_dir={DEMO_DATA}", *overrides],
        )
    check_config(cfg, config_name)
    return cfg


def build_corpus(out_dir: Path) -> Path:
    """The sample citations as a corpus dataset (title + abstract per document)."""
    count = write_dataset(iter_documents([DEMO_DATA / "PubMed"]), out_dir)
    print(f"corpus: {count} citations -> {out_dir}")
    return out_dir


def learn_demo_vocabulary(corpus_dir: Path, out_dir: Path) -> Path:
    import datasets

    texts = (row["text"] for row in datasets.load_from_disk(str(corpus_dir)))
    return learn_vocabulary(texts, BPE_MERGES, out_dir)


def pretrain_tiny(work: Path, vocabulary: Path, corpus_dir: Path) -> dict[str, Any]:
    # Lightning is imported by the step that trains: a wrong --out ends the command at once.
    from biogpt.experiment.pretrain import pretrain

    packed = work / "packed"
    index = pack_corpus(
        corpus_dir,
        packed,
        BioGPTTokenizer.from_pretrained(vocabulary),
        vocabulary_name=str(vocabulary),
        tokens_per_sample=TOKENS_PER_SAMPLE,
        valid_fraction=0.1,
    )
    print(f"packed: {index.splits['train'].blocks} train / {index.splits['valid'].blocks} valid blocks")
    cfg = compose_run(
        "pretrain",
        work / "pretrain",
        [*PRETRAIN_OVERRIDES, f"tokenizer={vocabulary}", f"pretrain.corpus_dir={packed}"],
    )
    return pretrain(cfg)


def finetune(work: Path, pretrained: Path) -> dict[str, Any]:
    from biogpt.experiment.finetune import train

    cfg = compose_run(
        "train",
        work / "finetune",
        [*FINETUNE_OVERRIDES, f"model.init={pretrained}", f"data.cache_dir={work / 'cache'}"],
    )
    return train(cfg)


def results_table(pretrained: dict[str, Any], finetuned: dict[str, Any], seconds: float) -> Table:
    table = Table(title=f"biogpt demo: results ({seconds:.0f} s)", title_justify="left")
    table.add_column("stage")
    table.add_column("split")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for stage, summary in (("pre-training", pretrained), ("KD-DTI fine-tuning", finetuned)):
        evaluation = summary["evaluation"]
        for name, value in evaluation["metrics"].items():
            table.add_row(
                stage, f"{evaluation['split']} ({evaluation['examples']})", name, format_metric(name, value)
            )
    return table


def output_paths(work: Path, finetuned: dict[str, Any]) -> dict[str, Path]:
    run = Path(finetuned["run_dir"])
    return {
        "pre-trained model": work / "pretrain" / "final",
        "learned vocabulary": work / "vocab",
        "fine-tuned (averaged) model": run / "final",
        "epoch checkpoints": run / "checkpoints",
        "metrics": run / "metrics.json",
        "predictions": run / "predictions.jsonl",
        "training logs": run / "logs" / "metrics.csv",
        "pre-training logs": work / "pretrain" / "logs" / "metrics.csv",
    }


def run_demo(work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the five steps into ``work``, which must be new or empty: pre-training resumes from any
    checkpoint it finds, so a half-filled directory would silently mix two demo runs."""
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty; choose a new --out directory")
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(work / "corpus")
    vocabulary = learn_demo_vocabulary(corpus, work / "vocab")
    pretrained = pretrain_tiny(work, vocabulary, corpus)
    finetuned = finetune(work, Path(pretrained["final_model"]))
    console = Console()
    console.print(results_table(pretrained, finetuned, time.perf_counter() - started))
    print_paths("where the outputs are", output_paths(work, finetuned), console)
    return pretrained, finetuned


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m biogpt.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=output_directory, help="a new or empty directory (default: outputs/demo/<date_time>)"
    )
    args = parser.parse_args(argv)
    out = args.out or Path("outputs/demo") / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    try:
        run_demo(out.resolve())
    except FileExistsError as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
