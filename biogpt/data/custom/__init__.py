"""A corpus in one of the field's exchange formats as a task, by configuration alone (``task=custom``).

Readers (one module per format: :mod:`.brat`, :mod:`.bioc`, :mod:`.pubtator`, :mod:`.bigbio`,
:mod:`.jsonl`, :mod:`.delimited`) turn files into the shared records of :mod:`.document`; :mod:`.examples`
renders those records as the (source, target) examples of the built-in tasks' wording. This package's
``__init__`` imports nothing, so that :mod:`biogpt.data.tasks.settings` can import :mod:`.settings` alone.
"""
