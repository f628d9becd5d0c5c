"""The commands that never train start without the training stack.

Importing Lightning costs several seconds (it imports torchmetrics, which imports transformers and
matplotlib, and torch's compiler), and W&B another second: a user pays them at every start of a
command, and the suite at every command it runs. ``evaluate``, ``generate``, ``export`` and ``serve``
decode with a saved model and need neither; one import of a builder from the wrong module brings them
back unnoticed, so this test imports each command's module in a fresh process and names what came in.
"""

from __future__ import annotations

import json

from project_commands import run_command

INFERENCE_COMMANDS = (
    "biogpt.experiment.evaluate",
    "biogpt.experiment.generate",
    "biogpt.experiment.export",
    "biogpt.experiment.serve",
)
TRAINING_COMMAND = "biogpt.experiment.finetune"
TRAINING_STACK = ("lightning", "torchmetrics", "wandb")

# The inference commands' modules first, then the fine-tuning module, which does import Lightning (a
# probe that saw nothing there would not be saying anything): one process, one start-up paid.
PROBE = f"""
import importlib, json, sys
loaded = {{}}
for module in {(*INFERENCE_COMMANDS, TRAINING_COMMAND)!r}:
    importlib.import_module(module)
    loaded[module] = [name for name in {TRAINING_STACK!r} if name in sys.modules]
print(json.dumps(loaded))
"""


def test_inference_commands_import_no_training_stack() -> None:
    done = run_command(["-c", PROBE], timeout=300, fresh=True)  # what a start imports: a fresh interpreter
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert list(loaded) == [*INFERENCE_COMMANDS, TRAINING_COMMAND]
    assert all(loaded[module] == [] for module in INFERENCE_COMMANDS), loaded
    assert "lightning" in loaded[TRAINING_COMMAND], loaded
