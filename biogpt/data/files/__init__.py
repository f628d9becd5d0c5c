"""The files of a data directory: where each comes from, fetched and verified, and which a run needs.

:mod:`.sources` names every dataset's files and their SHA-256 pins (``datasets.sha256``); :mod:`.fetch`
brings one file in (verified, then renamed into place); :mod:`.install` downloads datasets and checks a
data directory; :mod:`.baseline` does the same for PubMed's baseline files against NCBI's MD5 files;
:mod:`.requirements` says which files a task's split reads, so a run fails before it builds anything.
The command over them is :mod:`biogpt.data.download` (``biogpt-data``).
"""
