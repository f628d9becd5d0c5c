"""Fine-tune (or pre-train) BioGPT: ``python train.py task=kd_dti prompt.length=9``.

A thin Hydra entry point; the work is in :func:`biogpt.pipeline.train`. Unknown config keys are
reported with the valid ones before Hydra composes the run.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    from biogpt.pipeline import train
    from biogpt.summary import print_run_summary

    print_run_summary(train(cfg))


if __name__ == "__main__":
    from biogpt.config_errors import exit_on_unknown_keys

    exit_on_unknown_keys("train", sys.argv[1:])
    main()
