"""A run's artifacts: the model directory every run writes and every command reads, which vocabulary
goes with which model source, and the run summaries."""
