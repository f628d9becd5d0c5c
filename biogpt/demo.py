"""``python -m biogpt.demo``: the ``biogpt-demo`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import demo

    demo()
