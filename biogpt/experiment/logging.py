"""Console and log-file output of a run under Hydra."""

from __future__ import annotations

import logging


def print_lightning_logs_once() -> None:
    """Leave Lightning's messages to the root logger's handlers when it has some (under Hydra).

    Importing ``lightning`` always attaches a console handler ("INFO: ...") to the ``lightning``
    logger, and its subpackages propagate to the root once Hydra has configured it: every Lightning
    message would print twice, and only one copy would reach the run's log file.
    """
    if logging.getLogger().handlers:
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)
