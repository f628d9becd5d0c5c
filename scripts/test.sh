#!/usr/bin/env bash
# The whole test suite, lint included; fails when no test ran (pytest exit code 5).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check .
ruff format --check .
set +e
# The 25 slowest tests close every run, so the next person sees where the time goes.
python -m pytest -q --durations=25 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
fi
exit "$status"
