#!/usr/bin/env bash
# The main job at small scale: prompt fine-tuning of a tiny BioGPT on a DDI sample, on CPU.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
python train.py task=ddi model=tiny data.train_shots=16 data.update_freq=1 \
    trainer.max_epochs=3 keep_last_epochs=2 trainer.limit_val_batches=4 "$@"
