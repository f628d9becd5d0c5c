"""``python pretrain.py ...``: the ``biogpt-pretrain`` command from a checkout (see :mod:`biogpt.cli`)."""

from biogpt.cli import pretrain

if __name__ == "__main__":
    pretrain()
