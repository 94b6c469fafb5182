#!/usr/bin/env bash
# Provisions what the Playwright suite (examples/server/e2e) needs:
#   - Chromium from Debian's packages ($CHROMIUM_PATH, else /usr/bin/chromium; installed with
#     apt-get when missing and running as root): Playwright never downloads a browser here;
#   - Node.js >= 20 and npm (Debian's `nodejs npm` when missing);
#   - the suite's node_modules (`npm ci`, skipped while they match package-lock.json).
#
#   eval "$(bash scripts/e2e-env.sh)"    # prints `export CHROMIUM_PATH=...` on success
#
# Exit status: 0 ready; 3 cannot provision outside CI (the reason is printed; the caller skips);
# 1 anything else, and any missing piece in CI (CI=true or 1, see scripts/lib/ci.sh: CI never
# skips). The reason of a skip also goes to the file $E2E_SKIP_REASON when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."

E2E_DIR=examples/server/e2e
log() { echo "e2e-env: $*" >&2; }

# shellcheck source=lib/ci.sh
source scripts/lib/ci.sh

# Outside CI a missing tool we cannot install is a skip (exit 3); in CI it is a failure.
unavailable() {
  if quota_in_ci; then
    log "FAIL (CI=${CI}): $*"
    exit 1
  fi
  log "cannot run the browser suite: $*"
  printf '%s\n' "$*" >"${E2E_SKIP_REASON:-/dev/null}"
  exit 3
}

APT_UPDATED=
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || return 1
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >&2
}

# --- Chromium -------------------------------------------------------------------------------
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ -n "${CHROMIUM_PATH:-}" ]; then
    unavailable "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  fi
  apt_install chromium || unavailable "no $CHROMIUM and Debian's chromium cannot be installed here (needs root and apt-get)"
  [ -x "$CHROMIUM" ] || unavailable "apt-get installed chromium but $CHROMIUM is missing"
fi
if ! version=$("$CHROMIUM" --headless --no-sandbox --version 2>/dev/null); then
  unavailable "$CHROMIUM does not start (\`$CHROMIUM --version\` failed)"
fi
log "browser: $version ($CHROMIUM)"

# --- Node.js and npm ------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm || unavailable "node/npm are missing and cannot be installed here (needs root and apt-get)"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  unavailable "Playwright needs Node.js >= 20; this machine has $(node --version)"
fi
log "node $(node --version), npm $(npm --version)"

# --- node_modules ---------------------------------------------------------------------------
stamp="$E2E_DIR/node_modules/.e2e-lock.sha256"
want=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$E2E_DIR/node_modules/@playwright/test" ]; then
  log "node_modules up to date with package-lock.json"
else
  log "npm ci in $E2E_DIR"
  (cd "$E2E_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2) ||
    { log "npm ci failed"; exit 1; }
  echo "$want" >"$stamp"
fi

echo "export CHROMIUM_PATH=$(printf %q "$CHROMIUM")"
