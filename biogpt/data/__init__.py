"""Data: downstream task corpora and the PubMed pre-training corpus.

Sub-packages: :mod:`.tasks` (the built-in tasks' readers and their configs), :mod:`.custom` (a user's
corpus in an exchange format, as a task), :mod:`.pubmed` (the pre-training corpus: XML records, one
version per PMID, packed blocks), :mod:`.files` (a data directory's sources, pins, downloads and
checks). The modules here turn a task's examples into what a model reads: target formats, the
sequence layout, cached token ids, fairseq-style batches, the DataModule, the resumable sampler, the
JSONL export; :mod:`.download` and :mod:`.export` are commands.
"""
