"""Hyperparameter search (``hparams_search=...``): the project's Optuna sweeper through Hydra's multirun.

Each search runs ``train.py -m`` as the README does, with the tiny model, 4 training examples of the
real DDI release, one update per trial and no closing evaluation: seconds per trial, run by Hydra's
basic launcher inside the sweep process. The study is read back from its SQLite database with Optuna.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from project_commands import run_command, run_project

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

from biogpt.experiment.search.sweeper import FAIL_REASON, INTERRUPTED, RETRY_OF, RUN_DIR  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]

# What turns a search's trial into a second of CPU work: 4 examples (debug=overfit's size), the tiny model.
MINIATURE = [
    "task=ddi",
    "debug=fast",
    "data.train_shots=4",
    "eval.split=null",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def _command(sweep_dir: Path, shared_data: Path, cache: Path, overrides: list[str]) -> list[str]:
    return [
        "train.py",
        "-m",
        *MINIATURE,
        f"data_dir={shared_data}",
        f"data.cache_dir={cache}",
        f"hydra.sweep.dir={sweep_dir}",
        *overrides,
    ]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No W&B settings and a home of the module's own (one command server serves the module's searches)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    return {**env, "HOME": str(tmp_path_factory.mktemp("home")), "PYTHONPATH": str(PROJECT)}


def _run(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_command(command, env=environment, timeout=900)


def _study(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name=str(sweep_dir), storage=f"sqlite:///{sweep_dir / 'optuna.db'}")


def _states(sweep_dir: Path) -> list[str]:
    """The trials' states so far, read from the running sweep's database without writing to it (Optuna's
    ``load_study`` would create missing tables, racing the sweep's own creation of them): none before
    the sweep has created its tables, or while it holds the database locked (the next poll reads)."""
    database = sweep_dir / "optuna.db"
    if not database.is_file():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as db:
            return [state for (state,) in db.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # no trials table yet, or the database is locked just now
        return []


def _complete(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    return [t for t in _study(sweep_dir).get_trials() if t.state == TrialState.COMPLETE]


def test_a_killed_search_continues_to_its_six_trials_and_the_report_names_the_best(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    """A 6-trial search over the learning rate and the prompt length (the lr_prompt preset), SIGKILLed
    once its third trial has completed, then started again with the same command: the study ends with 6
    complete trials, the first three as they were, each with its run directory and metrics."""
    sweep_dir = tmp_path / "search"
    command = _command(
        sweep_dir,
        shared_data,
        token_cache,
        ["hparams_search=lr_prompt", "search.metric=valid/loss", "hydra.sweeper.n_trials=6"],
    )
    log = tmp_path / "killed_sweep.log"  # a file, not a pipe that a long sweep could fill and block on
    with (
        log.open("w") as output,
        subprocess.Popen(
            [sys.executable, *command],
            cwd=PROJECT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        ) as sweep,
    ):
        deadline = time.monotonic() + 600
        # Killed while the fourth trial's job runs (its directory is there: its parameters are all drawn),
        # once the first three have completed.
        while _states(sweep_dir) != ["COMPLETE"] * 3 + ["RUNNING"] or not (sweep_dir / "3").is_dir():
            assert sweep.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the first three trials did not complete"
            time.sleep(0.2)
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
    before = {t.number: (t.params, t.value) for t in _complete(sweep_dir)}
    assert len(before) == 3

    result = _run(command, environment)
    assert result.returncode == 0, result.stderr[-4000:]

    trials = _study(sweep_dir).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 6
    assert {t.number: (t.params, t.value) for t in complete if t.number in before} == before
    for trial in complete:
        assert set(trial.params) == {"optim.lr", "optim.warmup_updates", "prompt.length"}
        assert 1e-5 <= trial.params["optim.lr"] <= 1e-3
        assert trial.params["prompt.length"] in range(1, 18, 4)
        run_dir = Path(trial.user_attrs[RUN_DIR])
        assert run_dir == sweep_dir / str(trial.number)
        summary = json.loads((run_dir / "train_summary.json").read_text(encoding="utf-8"))
        assert summary["metrics"]["valid/loss"] == pytest.approx(trial.value)
        assert "valid/loss" in (run_dir / "logs" / "metrics.csv").read_text(encoding="utf-8")
        overrides = (run_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")
        assert f"prompt.length={trial.params['prompt.length']}" in overrides
    # The trial the kill interrupted is failed as such (and not counted), and its parameters tried again.
    [interrupted] = [t for t in trials if t.state != TrialState.COMPLETE]
    assert interrupted.number == 3 and interrupted.state == TrialState.FAIL
    assert interrupted.user_attrs[INTERRUPTED] is True
    assert interrupted.user_attrs[FAIL_REASON].startswith("interrupted: its sweep process")
    [retry] = [t for t in trials if t.user_attrs.get(RETRY_OF) == 3]
    assert retry.number == 4 and retry.params == interrupted.params

    report = run_project(["-m", "biogpt.report", str(sweep_dir), "--layout", "search"], env=environment)
    best = min(complete, key=lambda t: t.value)
    assert f"**Best trial {best.number}**" in report.stdout
    assert str(sweep_dir / str(best.number)) in report.stdout
    assert (sweep_dir / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (sweep_dir / "search.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[:4] == ["trial", "state", "valid/loss", "duration_s"]
    assert len(rows) == 1 + len(trials)


def test_a_failing_trial_is_recorded_with_its_reason_and_the_search_goes_on(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    """A grid over the learning rate whose two negative values the validation refuses: those trials fail
    (with the job's error line as their reason), the third completes, and the sweep ends normally. The
    plugin runs without a preset here (hydra/sweeper=biogpt_optuna, its defaults), two trials at a time."""
    sweep_dir = tmp_path / "search"
    result = _run(
        _command(
            sweep_dir,
            shared_data,
            token_cache,
            [
                "hydra/sweeper=biogpt_optuna",
                "hydra.sweeper.n_trials=3",
                "hydra.sweeper.n_jobs=2",
                "optim.lr=choice(-1.0,-2.0,0.01)",
                "hydra.sweeper.sampler._target_=optuna.samplers.GridSampler",
                "+hydra.sweeper.sampler.search_space={optim.lr:[-1.0,-2.0,0.01]}",
                "+callbacks.validate_at_last_update._target_=biogpt.training.last_update.ValidateAtLastUpdate",
            ],
        ),
        environment,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    trials = _study(sweep_dir).get_trials()
    # The grid's three points, each once.
    assert sorted(t.params["optim.lr"] for t in trials) == [-2.0, -1.0, 0.01]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    [complete] = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.params["optim.lr"] for t in failed) == [-2.0, -1.0]
    for trial in failed:
        assert trial.user_attrs[FAIL_REASON] == f"optim.lr={trial.params['optim.lr']}: expected a number > 0"
    assert complete.params["optim.lr"] == 0.01 and complete.value is not None
    assert "error: optim.lr=-1.0: expected a number > 0" in result.stderr
    # Two trials asked at once, then the last: each job in the directory of its trial's number.
    assert "Launching 2 jobs locally" in result.stdout and "Launching 1 jobs locally" in result.stdout
    assert sorted(t.user_attrs[RUN_DIR] for t in trials) == [str(sweep_dir / str(n)) for n in range(3)]


def test_a_trial_without_its_metric_fails_with_the_reason(
    tmp_path: Path, shared_data: Path, token_cache: Path, environment: dict[str, str]
) -> None:
    """No validation (trainer.limit_val_batches=0), so no valid/loss: the trial fails, saying so; with
    no trial completed, the search ends in an error line naming the failure (exit status 1)."""
    sweep_dir = tmp_path / "search"
    result = _run(
        _command(
            sweep_dir,
            shared_data,
            token_cache,
            ["hparams_search=lr_prompt", "hydra.sweeper.n_trials=1", "trainer.limit_val_batches=0"],
        ),
        environment,
    )
    assert result.returncode == 1, result.stderr[-4000:]
    [trial] = _study(sweep_dir).get_trials()
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON].startswith("the run logged no valid/loss (no validation ran")
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no trial of the study completed (1 failed; trial 0: {trial.user_attrs[FAIL_REASON]}); "
        f"python -m biogpt.report {sweep_dir} --layout search lists them"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("search.direction=upward", "error: search.direction='upward': expected one of: minimize, maximize"),
        ("search.metric=loss", "error: search.metric='loss': expected a logged metric's name"),
        ("hydra.sweeper.n_jobs=0", "error: hydra.sweeper.n_jobs=0: expected an integer >= 1"),
        (
            "hydra.sweeper.storage=nosuchdb://x",
            "error: hydra.sweeper.storage='nosuchdb://x': Can't load plugin",
        ),
        ("+hydra.sweeper.params.prompt='glob(*)'", "error: prompt=glob(*): Optuna cannot sample this sweep"),
    ],
)
def test_a_setting_the_search_cannot_use_ends_it_before_any_trial(
    tmp_path: Path,
    shared_data: Path,
    token_cache: Path,
    environment: dict[str, str],
    override: str,
    message: str,
) -> None:
    sweep_dir = tmp_path / "search"
    result = _run(
        _command(sweep_dir, shared_data, token_cache, ["hparams_search=lr_prompt", override]),
        environment,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not list(sweep_dir.glob("*/.hydra"))


@pytest.mark.parametrize("preset", ["lr_prompt", "study"])
@pytest.mark.parametrize(
    "others",
    [
        [],
        ["debug=fast"],
        ["debug=overfit"],
        ["peft=lora"],
        ["experiment=paper/kd_dti"],
        ["experiment=study/ddi"],
    ],
    ids=str,
)
def test_the_presets_compose_with_any_experiment_debug_and_peft(
    preset: str, others: list[str], tmp_path: Path, shared_data: Path
) -> None:
    from hydra import compose, initialize_config_dir

    from biogpt.experiment.config.paths import CONF_DIR
    from biogpt.experiment.config.validation import SEARCH_RULES, check_rules

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[f"data_dir={shared_data}", f"hparams_search={preset}", *others],
            return_hydra_config=True,
        )
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("BiogptOptunaSweeper")
    assert sweeper.direction == cfg.search.direction
    assert sweeper.sampler.seed == cfg.seed
    expected = {
        "lr_prompt": {"optim.lr", "optim.warmup_updates", "prompt.length"},
        "study": {"optim.lr", "task.max_epochs"},
    }
    assert set(sweeper.params) == expected[preset]
    assert (
        cfg.callbacks.validate_at_last_update._target_ == "biogpt.training.last_update.ValidateAtLastUpdate"
    )
    check_rules(cfg, SEARCH_RULES)
    assert (cfg.search.metric, cfg.search.direction) == (
        ("valid/loss", "minimize") if preset == "lr_prompt" else (f"valid/{cfg.select.metric}", "maximize")
    )


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        ("tag(log, interval(1e-5, 1e-3))", optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)),
        ("interval(0.0, 0.5)", optuna.distributions.FloatDistribution(0.0, 0.5)),
        # Hydra reads an interval's ends as floats: integers come from a range.
        ("interval(1, 64)", optuna.distributions.FloatDistribution(1.0, 64.0)),
        # Hydra's range leaves its stop out, as Python's does: 1, 5, 9, 13, 17.
        ("range(1, 18, 4)", optuna.distributions.IntDistribution(1, 17, step=4)),
        ("range(0.0, 1.0, 0.25)", optuna.distributions.FloatDistribution(0.0, 0.75, step=0.25)),
        ("choice(9, 13, 17)", optuna.distributions.CategoricalDistribution([9, 13, 17])),
        ("choice(svo, rel-is)", optuna.distributions.CategoricalDistribution(["svo", "rel-is"])),
    ],
)
def test_the_sweep_syntax_becomes_optuna_distributions(sweep: str, expected: object) -> None:
    from biogpt.experiment.search.space import search_space

    space = search_space({"key": sweep}, ["task=ddi"])
    assert space.distributions["key"] == expected
    assert space.fixed == ("task=ddi",)


def test_the_command_line_overrides_a_preset_key_and_fixed_values_reach_every_trial() -> None:
    from biogpt.experiment.search.space import search_space

    space = search_space(
        {"optim.lr": "interval(1e-5, 1e-3)", "prompt.length": "choice(1, 9)"}, ["optim.lr=0.01"]
    )
    assert list(space.distributions) == ["prompt.length"]
    assert space.overrides({"prompt.length": 9}) == ["optim.lr=0.01", "prompt.length=9"]


def test_a_sweep_killed_as_it_asks_leaves_a_trial_the_next_run_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the kill test above can hit by chance, forced: the sweep dies the moment ``ask`` has
    returned its trial, before it writes anything more. The trial is RUNNING with this process as its
    worker already, so once that process is gone the next run fails it as interrupted and tries its
    parameters again (a trial without a worker would be left to nobody and hold a slot of n_trials)."""
    from biogpt.experiment.search import sweeper
    from biogpt.experiment.search.space import search_space

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="search", direction="minimize")
    search = sweeper.OptunaSearch(
        sampler={"_target_": "optuna.samplers.RandomSampler", "seed": 0},
        direction="minimize",
        storage=storage,
        study_name="search",
        n_trials=2,
        n_jobs=1,
        params=None,
    )
    space = search_space({"optim.lr": "interval(1e-5, 1e-3)"}, [])

    class Killed(BaseException):
        """SIGKILL, as far as this process's writes go: nothing after it happens."""

    def killed(trial: optuna.Trial, key: str, value: object) -> None:
        raise Killed

    with monkeypatch.context() as kill:
        kill.setattr(optuna.Trial, "set_user_attr", killed)
        with pytest.raises(Killed):
            search._ask(study, space)
    [asked] = study.get_trials()
    assert asked.state == TrialState.RUNNING
    assert asked.user_attrs[sweeper.WORKER] == sweeper._worker()

    monkeypatch.setattr(sweeper, "_process_alive", lambda pid: False)  # the killed sweep's process is gone
    search._fail_interrupted(study)
    monkeypatch.undo()
    interrupted, retry = study.get_trials()
    assert interrupted.state == TrialState.FAIL and interrupted.user_attrs[INTERRUPTED] is True
    assert not sweeper.counts_towards_total(interrupted)
    assert retry.state == TrialState.WAITING and retry.user_attrs[RETRY_OF] == interrupted.number
    # The next ask takes the retry, with its parameters, and no other trial.
    again = search._ask(study, space)
    assert again.number == retry.number and again.params == interrupted.params
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.RUNNING]
