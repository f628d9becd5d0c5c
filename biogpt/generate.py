"""``python -m biogpt.generate``: the ``biogpt-generate`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import generate

    generate()
