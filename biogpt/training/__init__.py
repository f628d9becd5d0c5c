"""Training: the causal-LM LightningModules (fine-tuning and pre-training share one base), the loss
and its fairseq normalisation, the optimiser and schedule, checkpoint averaging and writing, loggers."""
