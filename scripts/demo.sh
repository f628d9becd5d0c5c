#!/usr/bin/env bash
# The main job on the embedded sample (demo/data), offline on CPU in a few minutes: corpus, learned
# vocabulary, pre-training, KD-DTI prompt fine-tuning, evaluation, results table (biogpt/demo.py).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
python -m biogpt.demo "$@"
