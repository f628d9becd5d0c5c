"""Score a model, or generated texts, on a task split with the official procedures.

    python evaluate.py task=ddi ckpt=outputs/ddi/<run>/final
    python evaluate.py task=ddi predictions=generated.txt

One generated text per line, in the order of the task's test examples. Writes ``metrics.json``,
``predictions.jsonl`` and the release-format files into the Hydra run directory. A thin Hydra entry
point; the work is in :mod:`biogpt.evaluate`.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from biogpt.evaluate import evaluate

    evaluate(cfg)


if __name__ == "__main__":
    from biogpt.config_errors import exit_on_unknown_keys

    exit_on_unknown_keys("evaluate", sys.argv[1:])
    main()
