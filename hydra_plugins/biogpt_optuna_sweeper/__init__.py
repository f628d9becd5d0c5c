"""The project's Optuna sweeper as a Hydra plugin (``hydra/sweeper=biogpt_optuna``).

Hydra finds sweepers in the ``hydra_plugins`` namespace package; this package only registers the
sweeper's config and class there. The search itself is :mod:`biogpt.experiment.search`.
"""
