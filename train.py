"""``python train.py ...``: the ``biogpt-train`` command from a checkout (see :mod:`biogpt.cli`)."""

from biogpt.cli import train

if __name__ == "__main__":
    train()
