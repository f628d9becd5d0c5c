"""Which root config a ``train.py`` command line belongs to.

Pre-training has its own root config (``pretrain``) and command (``pretrain.py``); a pre-training
experiment given to ``train.py`` (``train.py experiment=paper/pretrain``, as the first releases of
this project documented) is run by the pre-training command rather than refused. An experiment is a
pre-training one when it configures ``pretrain``.
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import OmegaConf

from biogpt.experiment.config.paths import CONF_DIR

EXPERIMENT_GROUP = "experiment"


def requested_experiment(arguments: Sequence[str]) -> str | None:
    """The ``experiment=NAME`` of a command line (a sweep's first choice), if any."""
    for argument in arguments:
        key, _, value = argument.partition("=")
        if key.lstrip("+~") == EXPERIMENT_GROUP and value:
            return value.split(",")[0].strip()
    return None


def is_pretraining(arguments: Sequence[str]) -> bool:
    name = requested_experiment(arguments)
    if name is None:
        return False
    path = CONF_DIR / EXPERIMENT_GROUP / f"{name}.yaml"
    return path.is_file() and "pretrain" in OmegaConf.load(path)
