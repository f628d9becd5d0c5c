"""Data: downstream task corpora and the PubMed pre-training corpus."""
