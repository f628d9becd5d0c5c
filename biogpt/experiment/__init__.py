"""The experiment layer, the only code that knows Hydra: it turns a composed config into typed
settings and objects, then runs fine-tuning, pre-training, evaluation, generation or an export.

Importing it registers the configs' resolvers (:mod:`biogpt.experiment.config.resolvers`) and typed schemas
(:mod:`biogpt.experiment.config.schema`), so that whatever composes a config (a command, a test) has them.
"""

from biogpt.experiment.config.resolvers import register_resolvers
from biogpt.experiment.config.schema import register_schemas

register_resolvers()
register_schemas()
