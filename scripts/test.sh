#!/usr/bin/env bash
# The whole test suite, lint included; fails when no test ran (pytest exit code 5).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check .
ruff format --check .
set +e
# One worker per core (at most 4: the end-to-end tests each hold a few GB), a test file's tests on one
# worker, in the collection order (tests/conftest.py starts the files of minutes first); the 25 slowest
# tests close every run, so the next person sees where the time goes.
workers="${BIOGPT_TEST_WORKERS:-$(python -c 'import os; print(max(1, min(4, len(os.sched_getaffinity(0)))))')}"
python -m pytest -q -n "$workers" --dist loadfile --no-loadscope-reorder --durations=25 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
fi
exit "$status"
