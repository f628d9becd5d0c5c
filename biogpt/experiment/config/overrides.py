"""Unknown config keys and values of the wrong type on the command line, reported before Hydra runs.

Hydra lists the valid options of a config group (``task=kddti``) but answers a misspelt key
(``data.max_tokenz=5``) with only "Key 'max_tokenz' is not in struct". Before an entry point hands
its arguments to Hydra, :func:`exit_on_unknown_keys` composes the config the arguments select and
names every key override that is not in it, with close matches and the valid keys at that level.
:func:`exit_on_composition_error` then composes the config with every override
(:func:`compose_first_job`), where the typed schema (:mod:`biogpt.experiment.config.schema`) refuses a value
of the wrong type and a config group an option it lacks, and prints the key or group, the value and what
it expects as one ``error:`` line instead of Hydra's report, whose last line is about stack traces.

Hydra's grid sweep (``-m task=ddi,kd_dti data.update_freq=1,0``) composes and validates each job only as
it launches it, so a wrong value in its last job would end the sweep after every earlier job had run.
Before the first one, :func:`compose_sweep_jobs` composes one job per value of each swept key (the first
job with that one value changed: as many compositions as values, not as jobs), and each passes the checks
(:func:`~biogpt.experiment.config.validation.check_config`) the job would run. A hyperparameter search
(:mod:`biogpt.experiment.search`) keeps its own way: a trial whose config is refused fails with its
reason, and the search goes on.
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from biogpt.errors import ConfigError, print_error
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.config.validation import check_config

# Command-line flags that keep their meaning for this check; any other flag (--cfg, --help,
# --config-name, ...) changes what is composed, so the check steps aside and Hydra handles it.
_MULTIRUN_FLAGS = frozenset({"-m", "--multirun"})


def _is_group(key: str, conf_dir: Path) -> bool:
    return (conf_dir / key.split("@")[0]).is_dir()


def _parsed(arguments: Sequence[str]) -> list[Override] | None:
    """The overrides of a command line, or None when it carries flags that change what is composed. An
    argument that is no override is a :class:`~biogpt.errors.ConfigError` naming it, in one line (Hydra's
    report takes three, and a fourth about stack traces)."""
    overrides = [argument for argument in arguments if argument not in _MULTIRUN_FLAGS]
    if any(argument.startswith("-") for argument in overrides):
        return None
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as error:
        reason = [line for line in str(error).splitlines() if not line.startswith(("Error parsing", "See "))]
        raise ConfigError(
            f"{error.override}: not an override key=value ({' '.join(reason)}); the grammar: "
            "https://hydra.cc/docs/1.2/advanced/override_grammar/basic"
        ) from None


def _first_choice(override: Override) -> str | None:
    """A sweep's first value: any one of its jobs tells whether a key exists. An interval (a search's
    ``interval(low, high)``, which has no values to list) gives its low end; None where a sweep has no
    value to take without the config (``glob(...)``)."""
    if override.is_sweep_override():
        value = override.value()
        if isinstance(value, IntervalSweep):
            return str(value.start)
        try:
            values = iter(override.sweep_string_iterator())
        except HydraException:
            return None
        first = next(values, None)
        if first is None:
            raise ConfigError(
                f"{override.input_line}: a sweep without a value; expected at least one (range(start, stop) "
                "stops before stop)"
            )
        return first
    return override.get_value_element_as_str()


def _refuse_null_groups(parsed: Sequence[Override], conf_dir: Path) -> None:
    """A config group set to null (``prompt=null``), which Hydra refuses with a ``ValueError``
    traceback, is a :class:`~biogpt.errors.ConfigError` naming ``~group``, which leaves a group out."""
    for override in parsed:
        key = override.key_or_group
        if _is_group(key, conf_dir) and not override.is_delete() and override.value() is None:
            raise ConfigError(
                f"{override.input_line}: a config group takes one of its options; ~{key} leaves it out"
            )


# Choices that make a multirun a search (any hparams_search preset, or the search's sweeper itself):
# without -m, Hydra runs one job and no search.
_SEARCH_CHOICES = (("hparams_search", None), ("hydra/sweeper", "biogpt_optuna"))


def check_sweeps(arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> None:
    """The arguments that Hydra would refuse in a multi-line report or a traceback, or run as nothing,
    named in one line before it starts: a sweep without ``-m``, a sweep of one of Hydra's own settings
    (``hydra.sweeper.params.optim.lr=interval(...)``: a search's space is given as ``optim.lr=...``), a
    sweep without a value (``range(1, 0)``), a config group set to null (``~group`` leaves it out); and a
    search preset without ``-m``, which would train once and search nothing."""
    parsed = _parsed(arguments)
    if not parsed:
        return
    multirun = bool(_MULTIRUN_FLAGS & set(arguments))
    _refuse_null_groups(parsed, conf_dir)
    for override in parsed:
        line = override.input_line
        if override.is_sweep_override():
            key = override.key_or_group
            if key.startswith("hydra.sweeper.params."):
                raise ConfigError(
                    f"{line}: a search's space is given by its arguments: write "
                    f"{key.removeprefix('hydra.sweeper.params.')}={line.split('=', 1)[1]}"
                )
            if _is_hydra_setting(override):
                raise ConfigError(f"{line}: Hydra's own settings take one value; quote it to pass the text")
            if not multirun:
                raise ConfigError(
                    f"{line}: a sweep runs as a multirun: add -m (or quote the value to pass the text)"
                )
            _first_choice(override)
        elif not multirun and not override.is_delete() and _chooses_a_search(override):
            raise ConfigError(f"{line}: a search runs its trials as a multirun: add -m")


def _chooses_a_search(override: Override) -> bool:
    return any(
        override.key_or_group == group and option in (None, override.value())
        for group, option in _SEARCH_CHOICES
    )


def describe_unknown_key(cfg: DictConfig, key: str) -> str | None:
    """Why ``key`` is not in ``cfg`` (the valid keys where the path stops), or None if it is.

    The walk reads the unresolved tree: outside a Hydra run, interpolations such as
    ``${hydra:runtime.output_dir}`` cannot resolve, yet their keys exist.
    """
    parts = key.split(".")
    level: dict[str, Any] = OmegaConf.to_container(cfg, resolve=False)  # type: ignore[assignment]
    depth = 0
    while parts[depth] in level:
        child = level[parts[depth]]
        if depth < len(parts) - 1 and child is None:
            # OmegaConf cannot set a key below a null (an assertion, not an error of its own).
            null = ".".join(parts[: depth + 1])
            return (
                f"unknown config key '{key}': '{null}' is null in this config, so it has no key "
                f"'{parts[depth + 1]}'\n  (set '{null}' as a whole, or choose the config that gives it keys)"
            )
        if depth == len(parts) - 1:
            return None  # the key exists
        if _holds_a_value(cfg, parts[: depth + 1], child):
            # input.format=... where the root has input_format: OmegaConf's message would be that a dict
            # cannot be converted to a string.
            value_name = ".".join(parts[: depth + 1])
            problem = f"'{value_name}' holds a value, it has no keys"
            return _unknown_key(key, parts[:depth], level, "_".join(parts[depth:]), problem)
        if not isinstance(child, dict):
            return None  # a list or interpolation: Hydra checks those
        level, depth = child, depth + 1
    return _unknown_key(key, parts[:depth], level, parts[depth], None)


def _holds_a_value(cfg: DictConfig, path: list[str], raw: object) -> bool:
    """Whether the node at ``path`` (unresolved: ``raw``) is typed as a plain value (a string, number or
    flag: no keys below it); a block left unset (``task: ???``) is not, nor an interpolation."""
    if isinstance(raw, str) and "${" in raw:
        return False
    parent = OmegaConf.select(cfg, ".".join(path[:-1])) if len(path) > 1 else cfg
    return OmegaConf.get_type(parent, path[-1]) in (str, int, float, bool)


def _unknown_key(key: str, path: list[str], level: dict[str, Any], missing: str, problem: str | None) -> str:
    """The message for ``key``, unknown below ``path`` (whose keys are ``level``): ``problem`` (a key
    below a value, which no ``+`` adds), else that ``path`` has no key ``missing``; with the close
    matches of ``missing`` (never the key the user wrote) and the valid keys."""
    where_name = ".".join(path)
    valid = sorted(str(name) for name in level)
    where = f"'{where_name}'" if where_name else "the config"
    prefix = f"{where_name}." if where_name else ""
    written = key.split(".")[len(path)]
    close = difflib.get_close_matches(missing, [name for name in valid if name != written], n=3)
    hint = f" Did you mean {' or '.join(repr(prefix + name) for name in close)}?" if close else ""
    adding = "" if problem else f"\n  (to add a new key on purpose, write +{key}=...)"
    return (
        f"unknown config key '{key}': {problem or f'{where} has no key {missing!r}'}.{hint}\n"
        f"  valid keys of {where}: {', '.join(valid) or '(none)'}{adding}"
    )


def unknown_key_messages(config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> list[str]:
    """One message per key override of ``arguments`` that the composed config lacks; in a grid sweep over
    config groups, that the config of any of its group choices lacks (:func:`_job_overrides`).

    Returns nothing when the arguments do not parse or compose (the composition check, then Hydra,
    report the problem) or carry flags that change what is composed.
    """
    try:
        parsed = _parsed(arguments)
    except ConfigError:  # an argument that is no override: the composition check names it
        return []
    if parsed is None:
        return []
    groups, keys = [], []
    for override in parsed:
        key = override.key_or_group
        added_or_deleted = override.is_add() or override.is_force_add() or override.is_delete()
        if _is_hydra_setting(override) or added_or_deleted:
            continue
        if _is_group(key, conf_dir) or key == "hydra.searchpath":
            groups.append(override)
        else:
            keys.append(key)
    if not keys:
        return []
    messages: dict[str, str] = {}  # each problem once, with the first job that has it
    grid = _sweeps_a_grid(config_name, tuple(arguments), conf_dir)
    for selections, changed in _job_overrides(groups, grid):
        try:
            with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
                cfg = compose(config_name=config_name, overrides=selections)
        except (HydraException, ValueError):  # a group set to null: the composition check names it
            continue
        for key in keys:
            if (message := describe_unknown_key(cfg, key)) is not None and message not in messages:
                where = f"\n  (in the sweep's job with {changed})" if changed else ""
                messages[message] = message + where
    return list(messages.values())


def exit_on_unknown_keys(config_name: str, arguments: Sequence[str]) -> None:
    """Exit with status 2 and a message per unknown key, before Hydra starts the run."""
    messages = unknown_key_messages(config_name, arguments)
    if messages:
        print("\n".join(messages), file=sys.stderr)
        sys.exit(2)


def _cause(error: BaseException, wanted: Callable[[BaseException], bool]) -> BaseException | None:
    """The first exception in ``error``'s chain of causes (``error`` included) that is ``wanted``."""
    seen: BaseException | None = error
    while seen is not None:
        if wanted(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _is_value_error(error: BaseException) -> bool:
    """An OmegaConf error about a value (a wrong type, a value that does not resolve), not a key."""
    return isinstance(error, OmegaConfBaseException) and not isinstance(error, ConfigKeyError)


def _group_options(group: str, listed: Sequence[str], conf_dir: Path) -> list[str]:
    """The options of config group ``group``: its config files, those of its sub-folders as
    ``folder/name`` (``model=microsoft/biogpt``, ``experiment=paper/kd_dti``), and ``listed`` (Hydra's
    own list, which holds the options plugins register but not the sub-folders' files)."""
    folder = conf_dir / group
    files = [str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.yaml")]
    return sorted(set(files) | set(listed))


def _missing_option(error: MissingConfigException, overrides: Sequence[str], conf_dir: Path) -> str:
    """One line for an option a config group lacks: the override that chose it (or Hydra's own words
    where a config's defaults list did), close matches and the group's options."""
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_delete():
            continue
        group, value = override.key_or_group.split("@")[0], override.get_value_element_as_str()
        if f"{group}/{value}" == error.missing_cfg_file:
            options = _group_options(group, error.options or (), conf_dir)
            close = difflib.get_close_matches(value, options, n=3)
            hint = f" Did you mean {' or '.join(repr(name) for name in close)}?" if close else ""
            return (
                f"{group}={value}: the config group '{group}' has no option '{value}'.{hint} "
                f"Its options: {', '.join(options)}"
            )
    return str(error).splitlines()[0]


_GRID_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _is_hydra_setting(override: Override) -> bool:
    """Whether ``override`` sets Hydra's own config, which the job's config does not hold; all but the
    search path (``hydra.searchpath=[file://presets]``), which adds options to the config groups."""
    key = override.key_or_group
    return key.startswith("hydra") and key != "hydra.searchpath"


@functools.cache
def _sweeps_a_grid(config_name: str, arguments: tuple[str, ...], conf_dir: Path) -> bool:
    """Whether the arguments sweep keys with Hydra's grid sweeper (not a search's sweeper); kept, since
    each check before Hydra asks and the answer takes a composition. The sweeper is a group's choice
    (``hparams_search=...``) or Hydra's setting, so the first job's groups are composed without its key
    overrides: one that the config lacks (``model.study.x`` where ``model.study`` is null, which
    OmegaConf answers with an AssertionError) is the unknown-key check's to name."""
    parsed = _parsed(arguments) or []
    if not any(override.is_sweep_override() for override in parsed):
        return False
    groups = [
        o for o in parsed if _is_group(o.key_or_group, conf_dir) or o.key_or_group == "hydra.searchpath"
    ]
    overrides, _ = _job_overrides(groups, every_value=False)[0]
    overrides += [override.input_line for override in parsed if _is_hydra_setting(override)]
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException, ValueError):  # ValueError: a group set to null
        return False
    return OmegaConf.select(cfg, "hydra.sweeper._target_") == _GRID_SWEEPER


def _job_overrides(parsed: Sequence[Override], every_value: bool) -> list[tuple[list[str], str | None]]:
    """The overrides of the sweep's first job (each sweep at its first value), then, with
    ``every_value``, of one job for each other value of each swept key, with the value that job changes
    (None for the first)."""
    first: list[str] = []
    others: list[tuple[int, str, list[str]]] = []
    for override in parsed:
        if _is_hydra_setting(override):
            continue
        if not override.is_sweep_override():
            first.append(override.input_line)
            continue
        choice = _first_choice(override)
        if choice is None:
            continue
        key = override.get_key_element()
        first.append(f"{key}={choice}")
        if every_value and not isinstance(override.value(), IntervalSweep):  # an interval has no list
            rest = list(override.sweep_string_iterator())[1:]
            others.append((len(first) - 1, key, rest))
    jobs: list[tuple[list[str], str | None]] = [(first, None)]
    for position, key, values in others:
        for value in values:
            job = list(first)
            job[position] = f"{key}={value}"
            jobs.append((job, job[position]))
    return jobs


def _compose(config_name: str, overrides: list[str], changed: str | None, conf_dir: Path) -> DictConfig:
    """The config ``overrides`` compose; :class:`~biogpt.errors.ConfigError` for a value of the wrong type
    or an option a group lacks, and for another failure (``+seed=1``, which adds a key the config has):
    Hydra's message in one line for the first job, its first line naming ``changed`` for a later one (the
    value that made its config differ). The commands name unknown keys before this
    (:func:`unknown_key_messages`)."""
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            return compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        missing = _cause(error, lambda seen: isinstance(seen, MissingConfigException))
        if isinstance(missing, MissingConfigException):
            raise ConfigError(_missing_option(missing, overrides, conf_dir)) from None
        cause = _cause(error, _is_value_error)
        if not isinstance(cause, OmegaConfBaseException):
            if changed is None:
                raise ConfigError(" ".join(str(error).splitlines())) from None
            raise ConfigError(f"the sweep's job with {changed}: {str(error).splitlines()[0]}") from None
        where = str(error).splitlines()[0]
        origin = f" ({where.split(':')[0].removeprefix('In ')})" if where.startswith("In '") else ""
        raise ConfigError(f"{cause.full_key}{origin}: {str(cause.msg).splitlines()[0]}") from None


def compose_first_job(
    config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR
) -> DictConfig | None:
    """The config of ``arguments`` (a sweep's first job), as Hydra will compose it; None when the
    arguments carry flags that change what is composed.

    A value that does not fit its key's type raises :class:`~biogpt.errors.ConfigError` naming the
    key (``optim.lr: Value 'abc' of type 'str' could not be converted to Float``), as does an option its
    config group lacks (``task=kddti``, with close matches and the group's options).
    """
    parsed = _parsed(arguments)
    if parsed is None:
        return None
    overrides, _ = _job_overrides(parsed, every_value=False)[0]
    return _compose(config_name, overrides, None, conf_dir)


def compose_one_config(config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> DictConfig:
    """The config of a command that composes one configuration itself, without Hydra's launcher
    (``biogpt-data validate``), with the errors of :func:`compose_first_job`: its arguments are overrides
    alone, so a flag or a sweep among them is an error naming it."""
    flag = next((argument for argument in arguments if argument.startswith("-")), None)
    if flag is not None:
        raise ConfigError(f"{flag}: this command takes {config_name}.yaml's key=value overrides, no flags")
    swept = next((o.input_line for o in _parsed(arguments) or [] if o.is_sweep_override()), None)
    if swept is not None:
        raise ConfigError(f"{swept}: a sweep; this command composes one configuration")
    _refuse_null_groups(_parsed(arguments) or [], conf_dir)
    return _compose(config_name, list(arguments), None, conf_dir)


def compose_sweep_jobs(
    config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR
) -> list[DictConfig]:
    """The configs of the sweep's first job and, in a grid sweep, of one job per other value of each swept
    key (see the module's docstring), with the errors of :func:`compose_first_job`; empty where the
    arguments carry flags that change what is composed."""
    parsed = _parsed(arguments)
    if parsed is None:
        return []
    grid = _sweeps_a_grid(config_name, tuple(arguments), conf_dir)
    return [
        _compose(config_name, overrides, changed, conf_dir)
        for overrides, changed in _job_overrides(parsed, grid)
    ]


def check_sweep_base(config_name: str, arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> None:
    """Before a multirun splits into jobs, Hydra composes its base config from the arguments without
    their swept values, so each swept group is at the config's own choice there. A key override that
    only the swept choices give a value to (``model.study.max_new_tokens=5`` with ``model=a,b`` and
    ``debug=fast``, whose ``model=tiny`` has no ``model.study``) fails in that composition, with
    OmegaConf's ``AssertionError``, though every job has the key. This composes the base as Hydra's
    multirun does and names the override, and its remedy: a sweep of its one value, which Hydra applies
    to each job alone."""
    parsed = _parsed(arguments)
    if not parsed or not ("-m" in arguments or "--multirun" in arguments):
        return
    if _base_composes(config_name, [o.input_line for o in parsed], conf_dir):
        return
    for override in parsed:
        plain_key = not (override.is_sweep_override() or _is_group(override.key_or_group, conf_dir))
        rest = [o.input_line for o in parsed if o is not override]
        if plain_key and not _is_hydra_setting(override) and _base_composes(config_name, rest, conf_dir):
            value = override.get_value_element_as_str()
            raise ConfigError(
                f"{override.input_line}: Hydra composes a multirun's base config without the swept values "
                "(each swept group at the config's own choice), which has no such key, though every job "
                f"has it; write {override.get_key_element()}=choice({value}), a sweep of one value, which "
                "Hydra sets in each job alone"
            )


def _base_composes(config_name: str, overrides: list[str], conf_dir: Path) -> bool:
    """Whether Hydra's multirun composes its base config from ``overrides``."""
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            GlobalHydra.instance().hydra.compose_config(config_name, overrides, run_mode=RunMode.MULTIRUN)
    except (HydraException, OmegaConfBaseException, AssertionError):  # OmegaConf asserts below a null
        return False
    return True


def _jobs_run_as_composed(config_name: str, arguments: Sequence[str]) -> bool:
    """Whether the jobs :func:`compose_sweep_jobs` composes are checked as they will run: a single run's
    and a grid's are; a search samples its own values (and records a refused trial), and a value that
    reads Hydra's runtime (``${hydra:runtime.output_dir}``) resolves only inside the run."""
    if any("${hydra:" in argument for argument in arguments):
        return False
    parsed = _parsed(arguments) or []
    swept = any(override.is_sweep_override() for override in parsed)
    return not swept or _sweeps_a_grid(config_name, tuple(arguments), CONF_DIR)


def exit_on_composition_error(config_name: str, arguments: Sequence[str]) -> None:
    """Exit with status 1 and one ``error:`` line when a value does not fit its key's type, a group lacks
    an option, or a job's config (each of a grid sweep's values; not a search's) fails the checks its job
    would run.

    The checks run here, before Hydra, too: Hydra resolves its run directory before the job starts, and
    ``extract.yaml``'s reads ``out``, so a missing ``out`` ended in Hydra's traceback instead of its
    message. Where the composed jobs are not checked as they will run (:func:`_jobs_run_as_composed`),
    the job's own check covers them."""
    try:
        check_sweeps(arguments)
        jobs = compose_sweep_jobs(config_name, arguments)
        if _jobs_run_as_composed(config_name, arguments):
            for cfg in jobs:
                check_config(cfg, config_name)
        check_sweep_base(config_name, arguments)
    except ConfigError as error:
        print_error(error)
        sys.exit(1)
