"""Fine-tune BioGPT on a downstream task: ``python train.py task=kd_dti prompt.length=9``.

A thin Hydra entry point; the work is in :func:`biogpt.pipeline.train`.
"""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    from biogpt.pipeline import train

    summary = train(cfg)
    print(f"run directory: {summary['run_dir']}\nfinal model:   {summary['final_model']}")


if __name__ == "__main__":
    main()
