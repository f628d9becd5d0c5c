"""``python -m biogpt.serve``: the ``biogpt-serve`` command (see :mod:`biogpt.cli`)."""

if __name__ == "__main__":
    from biogpt.cli import serve

    serve()
