"""The Optuna search behind ``hydra/sweeper=biogpt_optuna`` (the ``hparams_search`` presets).

Each trial is one job of the sweep, run by Hydra's launcher (the basic one in this process, submitit on
SLURM) in ``<sweep dir>/<trial number>``; its objective is ``search.metric`` as the run recorded it
(:mod:`.objective`). Trials are asked for ``n_jobs`` at a time and told their outcome when the batch
returns (Optuna's ask-and-tell). A job that raises, ends with an ``error:`` line, or leaves no metric is
a failed trial whose ``fail_reason`` user attribute says why; the search goes on. A study in which no
trial completed ends the command with an ``error:`` line (exit status 1).

The study lives in ``storage`` (default ``sqlite:///<sweep dir>/optuna.db``) under ``study_name``
(default: the sweep directory), so the same command run again continues it: trials that ended are
kept, and only the rest of ``n_trials`` run. ``n_trials`` counts trials that ran to an end (complete or
failed by their run). A trial still RUNNING in the database whose sweep process is gone (killed: same
host, process no longer alive) is marked failed with reason ``interrupted`` when the study is opened
again, does not count, and its parameters are tried again first. RUNNING trials of other hosts (parallel
workers on a shared database) are left to their workers and count as under way.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra.utils
import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, Trial, TrialState
from sqlalchemy.exc import SQLAlchemyError

from biogpt.errors import ConfigError, print_error
from biogpt.experiment.config.validation import SEARCH_DIRECTIONS, SEARCH_RULES, check_rules
from biogpt.experiment.search.objective import MissingObjective, read_objective
from biogpt.experiment.search.space import SearchSpace, search_space

log = logging.getLogger(__name__)

# User attributes of a trial: why it failed, its run directory, and the process that ran it.
FAIL_REASON = "fail_reason"
RUN_DIR = "run_dir"
WORKER = "worker"
INTERRUPTED = "interrupted"
RETRY_OF = "retry_of"
# Written into the sweep directory: where the study is, for the report.
STUDY_FILE = "search.json"
DEFAULT_DB = "optuna.db"
# The objective of a config without search.metric (a root config other than train's).
DEFAULT_METRIC = "valid/loss"


class TrialFailed(RuntimeError):
    """A trial's job ended with an ``error:`` line (a user error: the job's own message) or an exit status."""


@dataclass(frozen=True)
class JobEndsAsException:
    """The task function, with a job's ``sys.exit`` (the command's ``error:`` line and exit status 1)
    turned into :class:`TrialFailed`: the launcher records it as a failed job instead of the exit ending
    the whole search. A module-level class, so that launchers that pickle the task function can."""

    task_function: TaskFunction

    def __call__(self, cfg: DictConfig) -> Any:
        try:
            return self.task_function(cfg)
        except SystemExit as ended:
            if ended.code in (0, None):
                return None
            cause = ended.__context__
            raise TrialFailed(str(cause) if cause else f"the job exited with status {ended.code}") from None


def default_storage(sweep_dir: Path) -> str:
    return f"sqlite:///{sweep_dir.resolve() / DEFAULT_DB}"


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _left_by_dead_process(trial: FrozenTrial) -> bool:
    """Whether a RUNNING trial's sweep process ran on this host and is gone (killed)."""
    host, _, pid = str(trial.user_attrs.get(WORKER, "")).rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))


def counts_towards_total(trial: FrozenTrial) -> bool:
    """Trials that ran to an end or are under way elsewhere; not those interrupted by a killed sweep."""
    if trial.state == TrialState.FAIL:
        return not trial.user_attrs.get(INTERRUPTED, False)
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class OptunaSearch:
    """The sweeper's work (see the module docstring); ``hydra.sweeper``'s keys are its arguments."""

    def __init__(
        self,
        sampler: DictConfig | dict[str, Any],
        direction: str,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        params: dict[str, str] | DictConfig | None,
    ) -> None:
        self.sampler: optuna.samplers.BaseSampler = hydra.utils.instantiate(sampler, _convert_="all")
        # Set when the sampler asks the study to stop (GridSampler: every point of its grid was tried).
        self.sampler_stopped = False
        self.direction = direction
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Launcher | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=JobEndsAsException(task_function), config=config
        )

    def _check(self) -> None:
        assert self.config is not None
        check_rules(self.config, SEARCH_RULES)
        if self.direction not in SEARCH_DIRECTIONS:
            raise ConfigError(
                f"hydra.sweeper.direction={self.direction!r}: expected one of: {', '.join(SEARCH_DIRECTIONS)}"
                " (the presets take it from search.direction)"
            )
        for key in ("n_trials", "n_jobs"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"hydra.sweeper.{key}={value!r}: expected an integer >= 1")

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        """Run the rest of the study's trials; a setting the search cannot use ends the command with
        one ``error:`` line (exit status 1), before any trial."""
        assert self.config is not None
        try:
            self._check()
            space = search_space(self.params, arguments)
            study = self._open_study()
        except ConfigError as error:
            print_error(error)
            sys.exit(1)
        returns: list[JobReturn] = []
        while (
            remaining := self.n_trials - sum(map(counts_towards_total, study.get_trials(deepcopy=False)))
        ) > 0 and not self.sampler_stopped:
            trials = [self._ask(study, space) for _ in range(min(self.n_jobs, remaining))]
            returns.extend(self._run_batch(study, space, trials))
        self._report_best(study)
        return returns

    def _open_study(self) -> optuna.Study:
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        storage = self.storage or default_storage(sweep_dir)
        name = self.study_name or os.path.normpath(str(sweep_dir))
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                direction=self.direction,
                sampler=self.sampler,
                load_if_exists=True,
            )
        except (ImportError, ValueError, optuna.exceptions.OptunaError, SQLAlchemyError) as error:
            # A URL without a dialect or driver, a database that cannot be reached or opened.
            raise ConfigError(f"hydra.sweeper.storage={storage!r}: {str(error).splitlines()[0]}") from None
        if study.direction.name.lower() != self.direction:
            raise ConfigError(
                f"hydra.sweeper.direction={self.direction}: the study {name!r} in {storage} is set to "
                f"{study.direction.name.lower()}; use another hydra.sweep.dir or hydra.sweeper.study_name"
            )
        (sweep_dir / STUDY_FILE).write_text(
            json.dumps(
                {
                    "storage": storage,
                    "study_name": name,
                    "metric": str(OmegaConf.select(self.config, "search.metric", default=DEFAULT_METRIC)),
                    "direction": self.direction,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        self._fail_interrupted(study)
        if study.trials:
            # A seeded sampler would start its random draws over and propose the first trials again.
            self.sampler.reseed_rng()
        ended = sum(
            t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) for t in study.trials
        )
        log.info("study %r in %s: %d trial(s) so far, %d to run in all", name, storage, ended, self.n_trials)
        return study

    def _fail_interrupted(self, study: optuna.Study) -> None:
        """Mark failed the RUNNING trials that a killed sweep on this host left, and enqueue their
        parameters so that they are tried again."""
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if not _left_by_dead_process(trial):
                log.warning(
                    "trial %d is RUNNING in %s: left to it", trial.number, trial.user_attrs.get(WORKER)
                )
                continue
            reason = f"interrupted: its sweep process ({trial.user_attrs[WORKER]}) ended before it did"
            storage = study._storage  # noqa: SLF001 (the trial is not this process's: no Trial object)
            storage.set_trial_user_attr(trial._trial_id, FAIL_REASON, reason)  # noqa: SLF001
            storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)  # noqa: SLF001
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(
                trial.params, user_attrs={RETRY_OF: trial.number, WORKER: _worker()}, skip_if_exists=False
            )
            log.warning("trial %d: %s; its parameters are tried again", trial.number, reason)

    def _ask(self, study: optuna.Study, space: SearchSpace) -> Trial:
        """A new trial, RUNNING in this process. Its worker is stored with it before it runs: a trial
        that ``ask`` created bare and that got the attribute a write later would, if the sweep were killed
        between the two writes, stay RUNNING with no owner and block a slot of ``n_trials`` for good. So
        the trial is first added WAITING with this process as its worker (one write; no fixed parameters,
        so every sampler, the GridSampler included, samples it as a new trial), then popped by ``ask``.
        Retries of interrupted trials are already WAITING with their worker (:meth:`_fail_interrupted`)."""
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            study.add_trial(
                optuna.trial.create_trial(state=TrialState.WAITING, user_attrs={WORKER: _worker()})
            )
        trial = study.ask(space.distributions)
        trial.set_user_attr(WORKER, _worker())  # a parallel worker on a shared database may have popped ours
        return trial

    def _run_batch(self, study: optuna.Study, space: SearchSpace, trials: Sequence[Trial]) -> list[JobReturn]:
        """Launch the trials (each in the job directory of its number) and tell the study their outcomes."""
        assert self.launcher is not None and self.hydra_context is not None and self.config is not None
        runnable: list[tuple[Trial, list[str]]] = []
        for trial in trials:
            overrides = space.overrides(trial.params)
            try:
                self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
            except Exception as error:  # noqa: BLE001 (any composition error: the trial's setting is invalid)
                self._fail(study, trial, f"its config does not compose: {str(error).splitlines()[0]}")
                continue
            runnable.append((trial, overrides))
        returns: list[JobReturn] = []
        for run in _consecutive(runnable):
            launched = self.launcher.launch(
                [overrides for _, overrides in run], initial_job_idx=run[0][0].number
            )
            for (trial, _), job in zip(run, launched, strict=True):
                self._tell(study, trial, job)
            returns.extend(launched)
        return returns

    def _tell(self, study: optuna.Study, trial: Trial, job: JobReturn) -> None:
        assert job.hydra_cfg is not None and job.cfg is not None
        run_dir = Path(str(job.hydra_cfg.hydra.runtime.output_dir))
        trial.set_user_attr(RUN_DIR, str(run_dir))
        if job.status != JobStatus.COMPLETED:
            error = job._return_value  # noqa: SLF001 (return_value would raise it)
            if isinstance(error, TrialFailed):  # the job's own error: line, already printed
                self._fail(study, trial, str(error))
            else:  # a bug, or a failure of the machine: its traceback goes to the log
                log.error("trial %d raised", trial.number, exc_info=error)
                self._fail(study, trial, f"{type(error).__name__}: {error}")
            return
        metric = str(OmegaConf.select(job.cfg, "search.metric", default=DEFAULT_METRIC))
        try:
            value = read_objective(run_dir, str(job.hydra_cfg.hydra.job.name), metric)
        except MissingObjective as missing:
            self._fail(study, trial, str(missing))
            return
        self._record(study, trial, TrialState.COMPLETE, value)
        log.info("trial %d: %s = %g (%s)", trial.number, metric, value, run_dir)

    def _fail(self, study: optuna.Study, trial: Trial, reason: str) -> None:
        trial.set_user_attr(FAIL_REASON, reason)
        self._record(study, trial, TrialState.FAIL)
        log.warning("trial %d failed: %s", trial.number, reason)

    def _record(
        self, study: optuna.Study, trial: Trial, state: TrialState, value: float | None = None
    ) -> None:
        """Tell the study a trial's outcome. A sampler that stops the study from its ``after_trial`` (the
        GridSampler, once its grid is done) raises outside ``Study.optimize``, after the outcome is stored:
        that ends the search."""
        try:
            study.tell(trial, value, state=state)
        except RuntimeError as error:
            if "Study.stop" not in str(error):
                raise
            self.sampler_stopped = True
            log.info("the sampler stopped the study (a GridSampler's grid is done)")

    def _report_best(self, study: optuna.Study) -> None:
        """Log the best trial; a study without a completed trial ends the command with one ``error:``
        line naming the last failure (exit status 1): the search found nothing, and a script that reports
        or uses its best trial next must not go on."""
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not completed:
            failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            last = f"; trial {failed[-1].number}: {failed[-1].user_attrs.get(FAIL_REASON)}" if failed else ""
            assert self.config is not None
            print_error(
                f"no trial of the study completed ({len(failed)} failed{last}); python -m biogpt.report "
                f"{self.config.hydra.sweep.dir} --layout search lists them"
            )
            sys.exit(1)
        best = study.best_trial
        log.info(
            "best trial %d: value %g, params %s, in %s",
            best.number,
            best.value,
            best.params,
            best.user_attrs.get(RUN_DIR),
        )


def _consecutive(runnable: list[tuple[Trial, list[str]]]) -> list[list[tuple[Trial, list[str]]]]:
    """The trials split where their numbers are not consecutive: a launch numbers its jobs from its first
    trial's number, so each trial runs in the directory of its own number."""
    runs: list[list[tuple[Trial, list[str]]]] = []
    for item in runnable:
        if runs and runs[-1][-1][0].number + 1 == item[0].number:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
