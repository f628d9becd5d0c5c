"""``hydra/sweeper=biogpt_optuna``: the keys of ``hydra.sweeper`` and the class Hydra instantiates.

Hydra imports every module of ``hydra_plugins`` when a command starts, so this one stays light: the
config dataclass goes into the ``ConfigStore`` (group ``hydra/sweeper``), and the sweeper class
imports Optuna and :mod:`biogpt.experiment.search.sweeper` only when a search is run. The keys are
those of Hydra's published Optuna sweeper (``n_trials``, ``n_jobs``, ``direction``, ``storage``,
``study_name``, ``sampler``, ``params`` in its search-space syntax), which pins ``optuna<3``; this one
runs on current Optuna and SQLAlchemy.
"""

# No ``from __future__ import annotations``: Hydra's plugin scan runs this module before it is in
# sys.modules, where dataclasses look string annotations up.
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


def _tpe_sampler() -> dict[str, Any]:
    return {"_target_": "optuna.samplers.TPESampler", "seed": None}


@dataclass
class BiogptOptunaSweeperConf:
    """``hydra.sweeper``: how many trials, where the study is stored, and what each trial samples."""

    _target_: str = "hydra_plugins.biogpt_optuna_sweeper.optuna_sweeper.BiogptOptunaSweeper"
    # The sampler is instantiated by the search, once optuna is known to be installed.
    _recursive_: bool = False
    # Optuna's sampler: any optuna.samplers class (_target_) and its arguments.
    sampler: Any = field(default_factory=_tpe_sampler)
    direction: str = "minimize"  # minimize | maximize (the presets set ${search.direction})
    # An SQLAlchemy URL; null: sqlite:///<sweep dir>/optuna.db.
    storage: Optional[str] = None  # noqa: UP045 (OmegaConf reads typing.Optional)
    # null: the sweep directory, so that rerunning the command continues the same study.
    study_name: Optional[str] = None  # noqa: UP045
    n_trials: int = 20  # trials that run to an end (complete or failed), over every run of the command
    n_jobs: int = 1  # trials asked for and handed to the launcher together
    # key: search space, e.g. optim.lr: tag(log, interval(1e-5, 1e-3)), prompt.length: choice(1, 9, 17).
    params: dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="biogpt_optuna", node=BiogptOptunaSweeperConf, provider="biogpt"
)


class BiogptOptunaSweeper(Sweeper):
    """Hydra's handle on :class:`biogpt.experiment.search.sweeper.OptunaSearch`."""

    def __init__(self, **settings: Any) -> None:
        from biogpt.optional import MissingDependencyError, require_optuna

        try:
            require_optuna("hydra/sweeper=biogpt_optuna (hparams_search=...)")
        except MissingDependencyError as missing:
            print(f"error: {missing}", file=sys.stderr)
            sys.exit(1)
        from biogpt.experiment.search.sweeper import OptunaSearch

        self.search = OptunaSearch(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
