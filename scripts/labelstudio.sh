#!/usr/bin/env bash
# Label Studio 1.23.2 in its own virtualenv (it pins its own Django and many exact versions).
#   scripts/labelstudio.sh install           -> .venv-labelstudio (idempotent, ~2.5 min the first time)
#   scripts/labelstudio.sh start [PORT]      -> runs it on 127.0.0.1:PORT (default 8080), data in var/labelstudio
#   scripts/labelstudio.sh user EMAIL [PW]   -> adds an annotator account (use their Refinery email)
# Prints the URL and an API token to put in LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY.
set -euo pipefail
cd "$(dirname "$0")/.."
LS_VENV="${REFINERY_LABEL_STUDIO_VENV:-$PWD/.venv-labelstudio}"
LS_VERSION=1.23.2
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"

case "${1:-}" in
  install)
    if [ -x "$LS_VENV/bin/label-studio" ] && [ "$(cat "$LS_VENV/.stamp" 2>/dev/null)" = "$LS_VERSION" ]; then exit 0; fi
    echo "==> Installing Label Studio $LS_VERSION into $LS_VENV (its own venv)" >&2
    "$PY" -m venv "$LS_VENV"
    "$LS_VENV/bin/pip" install -q --upgrade pip
    "$LS_VENV/bin/pip" install -q "label-studio==$LS_VERSION"
    echo "$LS_VERSION" > "$LS_VENV/.stamp"
    ;;
  start)
    PORT="${2:-8080}"
    DATA="${REFINERY_DATA_DIR:-$PWD/var}/labelstudio"
    TOKEN="${LABEL_STUDIO_API_KEY:-refinery-local-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
    mkdir -p "$DATA"
    [ -f "$DATA/.refinery-token" ] || echo "$TOKEN" > "$DATA/.refinery-token"
    TOKEN=$(cat "$DATA/.refinery-token")
    echo "Label Studio: http://127.0.0.1:$PORT/   user admin@refinery.local"
    echo "  export LABEL_STUDIO_URL=http://127.0.0.1:$PORT LABEL_STUDIO_API_KEY=$TOKEN"
    exec env -i PATH="$LS_VENV/bin:/usr/bin:/bin" HOME="$DATA" PYTHONUNBUFFERED=1 \
      LABEL_STUDIO_BASE_DATA_DIR="$DATA" \
      LABEL_STUDIO_USERNAME=admin@refinery.local LABEL_STUDIO_PASSWORD="${LABEL_STUDIO_PASSWORD:-refinery-admin}" \
      LABEL_STUDIO_USER_TOKEN="$TOKEN" LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
      LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true LABEL_STUDIO_COLLECT_ANALYTICS=false \
      LABEL_STUDIO_LATEST_VERSION_CHECK=false SENTRY_DSN= FRONTEND_SENTRY_DSN= \
      LABEL_STUDIO_SSRF_PROTECTION_ENABLED=false \
      "$LS_VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$PORT"
    ;;
  user)
    # Add an annotator account (same email as their Refinery user, so pulls map completed_by to them).
    EMAIL="${2:?usage: $0 user EMAIL [PASSWORD]}"
    DATA="${REFINERY_DATA_DIR:-$PWD/var}/labelstudio"
    exec env -i PATH="$LS_VENV/bin:/usr/bin:/bin" HOME="$DATA" PYTHONUNBUFFERED=1 \
      LABEL_STUDIO_BASE_DATA_DIR="$DATA" LABEL_STUDIO_LATEST_VERSION_CHECK=false \
      LABEL_STUDIO_COLLECT_ANALYTICS=false SENTRY_DSN= FRONTEND_SENTRY_DSN= \
      "$LS_VENV/bin/label-studio" init --username "$EMAIL" \
      --password "${3:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}" --quiet
    ;;
  *) echo "usage: $0 install | start [PORT] | user EMAIL [PASSWORD]" >&2; exit 2 ;;
esac
