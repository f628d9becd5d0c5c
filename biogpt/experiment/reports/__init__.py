"""Reports of finished runs: a sweep's jobs as a paper-style table and plot (:mod:`.sweep`), the
domain-specificity study's Table 1 (:mod:`.study`), and the command over both (:mod:`.command`,
``python -m biogpt.report``)."""
