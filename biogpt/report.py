"""``python -m biogpt.report``: the ``biogpt-report`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import report

    report()
