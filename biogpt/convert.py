"""``python -m biogpt.convert``: the ``biogpt-convert`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import convert

    convert()
