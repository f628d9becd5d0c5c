"""``python -m biogpt.extract``: the ``biogpt-extract`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import extract

    extract()
