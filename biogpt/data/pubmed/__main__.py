"""``python -m biogpt.data.pubmed``: the corpus builder's command (:func:`biogpt.data.pubmed.corpus.main`)."""

from biogpt.data.pubmed.corpus import main

main()
