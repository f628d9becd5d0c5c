"""Console and log-file output of a run under Hydra."""

from __future__ import annotations

import logging

# Loggers Lightning gives a console handler of their own when imported before logging is configured.
_LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")


def print_lightning_logs_once() -> None:
    """Leave Lightning's messages to the root logger's handlers when it has some (under Hydra).

    Importing ``lightning`` always attaches a console handler ("INFO: ...") to the ``lightning``
    logger, and its subpackages propagate to the root once Hydra has configured it: every Lightning
    message would print twice, and only one copy would reach the run's log file. Imported before
    Hydra configured logging (the commands check a config with the settings classes, which import
    it), ``lightning.pytorch`` and ``lightning.fabric`` keep their own console handler instead and
    do not propagate: no copy would reach the log file. Either way the root's handlers take over.
    """
    if logging.getLogger().handlers:
        for name in _LIGHTNING_LOGGERS:
            lightning_logger = logging.getLogger(name)
            for handler in list(lightning_logger.handlers):
                lightning_logger.removeHandler(handler)
            lightning_logger.propagate = True
