"""The commands that never train start without the training stack.

Importing Lightning costs several seconds (it imports torchmetrics, which imports transformers and
matplotlib, and torch's compiler), and W&B another second: a user pays them at every start of a
command, and the suite at every command it runs. ``evaluate``, ``generate``, ``export`` and ``serve``
decode with a saved model and need neither; one import of a builder from the wrong module brings them
back unnoticed, so this test imports each command's module in a fresh process and names what came in.
"""

from __future__ import annotations

import json
import subprocess
import sys

INFERENCE_COMMANDS = (
    "biogpt.experiment.evaluate",
    "biogpt.experiment.generate",
    "biogpt.experiment.export",
    "biogpt.experiment.serve",
)
TRAINING_STACK = ("lightning", "torchmetrics", "wandb")

PROBE = f"""
import importlib, json, sys
loaded = {{}}
for module in {INFERENCE_COMMANDS!r}:
    importlib.import_module(module)
    loaded[module] = [name for name in {TRAINING_STACK!r} if name in sys.modules]
print(json.dumps(loaded))
"""


def test_inference_commands_import_no_training_stack() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert list(loaded) == list(INFERENCE_COMMANDS)
    assert all(names == [] for names in loaded.values()), loaded


def test_the_training_command_does_import_it() -> None:
    """The probe's counterpart: the fine-tuning module imports Lightning, so a probe that saw nothing
    would not be saying anything."""
    probe = "import sys, biogpt.experiment.finetune; print('lightning' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.split()[-1] == "True", done.stderr[-3000:]
