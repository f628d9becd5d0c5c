"""The experiment layer, the only code that knows Hydra: it turns a composed config into typed
settings and objects, then runs fine-tuning, pre-training, evaluation, generation or an export."""
