#!/usr/bin/env bash
# Idempotent environment setup, sourced by the README commands: a virtual environment in .venv with
# the CPU build of torch (an unpinned torch would pull a multi-GB CUDA build) and the project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
python -c "import torch" 2>/dev/null || pip install --quiet torch==2.13.0
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.biogpt-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    pip install --quiet -e ".[dev]"
    touch "$stamp"
fi
# The service's page test drives a real headless browser: Debian's chromium and its driver (apt-get
# needs root, which CI has; elsewhere install them yourself and the test runs, or it is skipped).
if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
        || echo "setup: could not install chromium and chromium-driver; the page test will be skipped" >&2
fi
# Real data for tests and the examples: ../shared/data unless BIOGPT_DATA says otherwise.
export BIOGPT_DATA="${BIOGPT_DATA:-$(cd .. && pwd)/shared/data}"
