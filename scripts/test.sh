#!/usr/bin/env bash
# `make test`: set up everything the tests need, then run the whole suite.
# Extra arguments go to pytest (e.g. `make test ARGS="-k ingest"`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export REFINERY_LABEL_STUDIO_VENV="$PWD/.venv-labelstudio"
set +e
.venv/bin/python -m pytest ${PYTEST_WORKERS:+-n "$PYTEST_WORKERS"} "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests"; rc=0; fi  # "no tests" is not a failure of the run
exit "$rc"
