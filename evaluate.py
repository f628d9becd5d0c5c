"""Score generated texts of a task's test split with the official procedures.

    python evaluate.py task=ddi predictions=generated.txt

One generated text per line, in the order of the task's test examples. Writes ``metrics.json``,
``predictions.jsonl`` and the release-format files into the Hydra run directory. A thin Hydra entry
point; the work is in :mod:`biogpt.evaluation`.
"""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from biogpt.evaluate import evaluate

    evaluate(cfg)


if __name__ == "__main__":
    main()
