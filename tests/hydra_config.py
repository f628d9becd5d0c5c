"""Composing the project's Hydra configs in tests, as ``train.py`` would, with a run directory of choice."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from biogpt.experiment.config.paths import CONF_DIR


def compose_train(
    run_dir: Path, data_dir: Path, overrides: list[str] = (), cache_dir: Path | None = None
) -> DictConfig:
    """The train config with this run directory and data root; ``cache_dir`` shares tokenized corpora."""
    return compose_root(
        "train", run_dir, data_dir, [f"data.cache_dir={cache_dir or run_dir / 'cache'}", *overrides]
    )


def compose_root(config_name: str, run_dir: Path, data_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """The root config ``config_name`` (train, pretrain, ...) with this run directory and data root."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name=config_name, overrides=[f"run_dir={run_dir}", f"data_dir={data_dir}", *overrides]
        )
