#!/usr/bin/env bash
# `make run`: set up, migrate, create users and the demo collection, then serve the UI and run the
# task worker until Ctrl-C. Safe to run again: data in $REFINERY_DATA_DIR (default ./var) is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
PY=.venv/bin/python
HOST="${REFINERY_HOST:-127.0.0.1}"; PORT="${REFINERY_PORT:-8000}"

$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py bootstrap            # users (passwords printed once), demo collection, demo pipeline/dataset/adapter jobs

$PY manage.py reap_jobs           # jobs left "running" by a worker that died (Ctrl-C, crash, reboot) end as failed
$PY manage.py db_worker --no-reload --interval 1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
$PY manage.py labelstudio reconcile --every & trap "kill $WORKER $! 2>/dev/null || true" EXIT INT TERM  # periodic Label Studio pull (LABEL_STUDIO_RECONCILE_SECONDS); exits at once if Label Studio is not configured
printf '\n\033[1;32mRefinery is running at http://%s:%s/\033[0m  (Ctrl-C to stop)\n\n' "$HOST" "$PORT"
.venv/bin/gunicorn refinery.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --timeout 120 --access-logfile - --log-level warning
