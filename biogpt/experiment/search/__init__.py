"""Hyperparameter search as a Hydra sweep (``python train.py -m hparams_search=...``).

:mod:`.space` turns Hydra's sweep syntax into Optuna distributions, :mod:`.objective` reads a trial's
objective from what its run wrote, :mod:`.sweeper` runs the study (stored in a database, so a killed
search continues) through Hydra's launcher, and :mod:`.report` lays the stored trials out for
``python -m biogpt.report <sweep dir> --layout search``. Hydra reaches the sweeper through the plugin
``hydra_plugins/biogpt_optuna_sweeper``.
"""
