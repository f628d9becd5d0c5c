"""The pre-training corpus, from PubMed XML to the micro-batches a pre-training run reads.

:mod:`.records` streams the records of one PubMed XML file; :mod:`.corpus` keeps the latest version of
each PMID and writes the corpus dataset (``python -m biogpt.data.pubmed``, through ``__main__``);
:mod:`.packing` tokenizes that dataset into fixed-size blocks (``python -m biogpt.data.pubmed.packing``);
:mod:`.packed` serves the blocks as per-rank, resumable micro-batches. The baseline files themselves
are fetched and verified by :mod:`biogpt.data.files.baseline`.
"""
