"""The ``logger=wandb`` factory: the training layer's W&B logger, named after the Hydra sweep it runs in.

Reading Hydra's state belongs here, in the experiment layer; ``biogpt.training.loggers`` takes a run's group
and name as plain values, so it works (and is tested) without Hydra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from biogpt.training import loggers


def wandb_logger(
    group: str | None = None, name: str | None = None, **kwargs: Any
) -> loggers.OfflineFallbackWandbLogger:
    """``biogpt.training.loggers.wandb_logger(**kwargs)``, grouped and named per Hydra multirun job.

    A ``group`` or ``name`` given in the config wins; ``None`` takes the sweep's (see
    :func:`sweep_group_and_name`), which outside a multirun is ``None`` again: an ungrouped run with a
    W&B-generated name.
    """
    sweep_group, sweep_job = sweep_group_and_name(HydraConfig.get() if HydraConfig.initialized() else None)
    return loggers.wandb_logger(
        group=sweep_group if group is None else group, name=sweep_job if name is None else name, **kwargs
    )


def sweep_group_and_name(hydra_cfg: Any | None) -> tuple[str | None, str | None]:
    """``(group, name)`` for a run in a Hydra multirun: the sweep directory's name and the job's overrides.

    Grouping a sweep's jobs lets W&B compare them side by side; a single run (or no Hydra) has neither.
    A job without overrides is named by its number in the sweep.
    """
    if hydra_cfg is None or hydra_cfg.mode != RunMode.MULTIRUN:
        return None, None
    return Path(str(hydra_cfg.sweep.dir)).name, hydra_cfg.job.override_dirname or str(hydra_cfg.job.num)
