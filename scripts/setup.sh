#!/usr/bin/env bash
# Idempotent environment set-up shared by `make run` and `make test`.
#   scripts/setup.sh app     -> .venv with the app's dependencies, system packages, offline assets
#   scripts/setup.sh test    -> the above + test-only packages, Chromium, Label Studio's own venv
#   scripts/setup.sh venv    -> only create (or repair) the virtual environment
# Each part is skipped when its stamp (a hash of its inputs) is current, so a second run is fast.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-app}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${REFINERY_VENV:-.venv}"
mkdir -p .cache

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

apt_get_install() {  # apt_get_install PACKAGE... (root only; says what to run otherwise)
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "Missing system packages: $* — run: sudo apt-get install -y $*"; return 1
  fi
  say "Installing system packages: $*"
  if [ ! -f .cache/apt-updated ]; then apt-get update -qq && touch .cache/apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
apt_install() {  # apt_install CHECK_CMD_OR_PATH PACKAGE...
  local check="$1"; shift
  if [ -e "$check" ] || command -v "$check" >/dev/null 2>&1; then return 0; fi
  apt_get_install "$@"
}

# ---------------------------------------------------------------- Python environment
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Refinery needs Python 3.11"' \
  || { say "Python 3.11 is required (found $("$PY" --version))."; exit 1; }
# A venv counts only when its Python 3.11 runs and has pip: `python3 -m venv` that failed half-way
# (Debian without python3.11-venv leaves bin/python but no pip) is removed and created again.
venv_ok() { "$VENV/bin/python" -c 'import sys, pip; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1; }
create_venv() {
  rm -rf "$VENV"
  if "$PY" -m venv "$VENV" >.cache/venv.log 2>&1 && venv_ok; then return 0; fi
  rm -rf "$VENV"; return 1
}
if ! venv_ok; then
  if [ -e "$VENV" ]; then say "$VENV is incomplete or broken (no working Python with pip): creating it again"; fi
  say "Creating $VENV"
  if ! create_venv; then
    VENV_PKG="python3.$("$PY" -c 'import sys; print(sys.version_info[1])')-venv"  # Debian ships ensurepip apart
    say "Could not create $VENV: $(tail -n 2 .cache/venv.log | tr '\n' ' ')"
    apt_get_install "$VENV_PKG" || exit 1
    create_venv || { say "Still cannot create $VENV (see .cache/venv.log)."; exit 1; }
  fi
fi
[ "$MODE" = venv ] && exit 0
APP_HASH=$(hash_of requirements.txt requirements-nodeps.txt)
if ! stamp_ok "$VENV/.stamp-app" "$APP_HASH"; then
  say "Installing Python packages (first run takes a few minutes)"
  "$VENV/bin/pip" install -q --upgrade pip wheel
  "$VENV/bin/pip" install -q -r requirements.txt
  "$VENV/bin/pip" install -q --no-deps -r requirements-nodeps.txt
  echo "$APP_HASH" > "$VENV/.stamp-app"
fi

# ---------------------------------------------------------------- system data (WordNet for synonyms)
apt_install /usr/share/wordnet/data.noun wordnet-base wordnet-sense-index || true

if [ "$MODE" = test ]; then
  TEST_HASH=$(hash_of requirements-test.txt)
  if ! stamp_ok "$VENV/.stamp-test" "$TEST_HASH"; then
    say "Installing test packages"
    "$VENV/bin/pip" install -q -r requirements-test.txt
    echo "$TEST_HASH" > "$VENV/.stamp-test"
  fi
  apt_install chromium chromium chromium-driver
  bash scripts/labelstudio.sh install
fi

# ---------------------------------------------------------------- offline assets (models, language data)
ASSET_HASH=$(hash_of requirements.txt requirements-nodeps.txt $(ls */assets.py 2>/dev/null) refinery/management/commands/setup_assets.py)
if ! stamp_ok "${REFINERY_DATA_DIR:-var}/.stamp-assets" "$ASSET_HASH"; then
  say "Preparing offline assets (bundled model, language data)"
  "$VENV/bin/python" manage.py setup_assets
  mkdir -p "${REFINERY_DATA_DIR:-var}" && echo "$ASSET_HASH" > "${REFINERY_DATA_DIR:-var}/.stamp-assets"
fi
