"""``python evaluate.py ...``: the ``biogpt-evaluate`` command from a checkout (see :mod:`biogpt.cli`)."""

from biogpt.cli import evaluate

if __name__ == "__main__":
    evaluate()
