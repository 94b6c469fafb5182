#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with Schemathesis (property-based: every
# check, positive and negative data, stateful links): builds `quota` (debug), starts
# `quota serve --dev-clock` on a free loopback port with the memory store, and runs
#   st run http://127.0.0.1:<port>/api/v1/openapi.json --checks all
# with the admin JWT (scheme `adminJwt`) and the demo brand's public API key (scheme `apiKey`)
# from the server's banner. Exits non-zero on any failure.
#   bash scripts/schemathesis.sh [extra `st run` args]
# Knobs: SCHEMATHESIS_EXAMPLES (examples per operation and phase, default 100),
# SCHEMATHESIS_SEED (default a fixed seed, so a run is repeatable; `random` for a new one),
# SCHEMATHESIS_TIMEOUT (seconds, default 240: a run still going then is stopped and fails),
# QUOTA_VENV (the virtualenv, default $HOME/.cache/quota-venv).
# Schemathesis and its dependencies are pinned in scripts/schemathesis-requirements.txt and
# installed from PyPI into the venv, which this script makes (Debian's python3-venv is
# installed when `python3 -m venv` is missing). In CI (CI=true or 1, see scripts/lib/ci.sh)
# a missing tool fails the run; elsewhere it prints why and records a skip in
# $QUOTA_SKIP_LOG.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ci.sh
source scripts/lib/ci.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}"
VENV=${QUOTA_VENV:-$HOME/.cache/quota-venv}
REQUIREMENTS=scripts/schemathesis-requirements.txt
ST_VERSION=$(sed -n 's/^schemathesis==//p' "$REQUIREMENTS")
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-100}
SEED=${SCHEMATHESIS_SEED:-20261130}
TIMEOUT=${SCHEMATHESIS_TIMEOUT:-240}
NAME=schemathesis::api_v1

skip_or_fail() {
    if quota_in_ci; then
        echo "schemathesis: $1 (in CI nothing is skipped)" >&2
        exit 1
    fi
    quota_record_skip "$NAME" "$1"
    exit 0
}

# The venv, with exactly the pinned packages.
venv_ready() {
    [ -x "$VENV/bin/st" ] && [ "$("$VENV/bin/st" --version 2>/dev/null)" = "st, version $ST_VERSION" ]
}
if ! venv_ready; then
    command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed"
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "schemathesis: installing python3-venv from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-venv; } >&2 ||
            skip_or_fail "python3 cannot make a virtualenv and python3-venv does not install"
    fi
    echo "schemathesis: installing schemathesis $ST_VERSION into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2 || skip_or_fail "python3 -m venv $VENV failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS" >&2 ||
        skip_or_fail "pip cannot install $REQUIREMENTS from PyPI"
    venv_ready || skip_or_fail "st $ST_VERSION is not runnable after the install"
fi

LOCKED=()
if quota_in_ci; then LOCKED=(--locked); fi
cargo build "${LOCKED[@]}" -p quota-server --bin quota >&2
BIN=$CARGO_TARGET_DIR/debug/quota

WORK=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the server binds a free loopback port and prints it in its banner. Its own
# environment is cleared of secrets and sinks so it runs in dev mode (printing ADMIN_JWT and
# PUBLIC_KEY), with the simulated checkout and no outside call.
env -u QUOTA_ADMIN_JWT_SECRET -u QUOTA_API_KEY_SECRET -u STRIPE_SECRET_KEY \
    -u STRIPE_WEBHOOK_SECRET -u SLACK_WEBHOOK_URL -u SMTP_URL -u QUOTA_WEBHOOK_URL \
    -u QUOTA_PLANS -u QUOTA_STORE_URL \
    "$BIN" serve --host 127.0.0.1 --port 0 --store memory --dev-clock --dev >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    grep -q 'export PUBLIC_KEY=' "$WORK/server.log" && break
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "schemathesis: quota serve exited:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
BASE=$(grep -o 'listening on http://[^ ]*' "$WORK/server.log" | head -n1 | cut -d' ' -f3)
export ADMIN_JWT PUBLIC_KEY
ADMIN_JWT=$(grep -o 'export ADMIN_JWT=.*' "$WORK/server.log" | head -n1 | cut -d= -f2-)
PUBLIC_KEY=$(grep -o 'export PUBLIC_KEY=.*' "$WORK/server.log" | head -n1 | cut -d= -f2-)
case "$BASE" in
    http://127.0.0.1:*) ;;
    *)
        echo "schemathesis: no loopback URL in the server banner:" >&2
        cat "$WORK/server.log" >&2
        exit 1
        ;;
esac
if [ -z "$ADMIN_JWT" ] || [ -z "$PUBLIC_KEY" ]; then
    echo "schemathesis: no ADMIN_JWT or PUBLIC_KEY in the server banner:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi

# Credentials per security scheme of the document: Schemathesis sends the admin JWT to the
# admin routes and the brand key to the public ones (values read from the environment).
cat >"$WORK/schemathesis.toml" <<'EOF'
[auth.openapi.adminJwt]
bearer = "${ADMIN_JWT}"

[auth.openapi.apiKey]
api_key = "${PUBLIC_KEY}"
EOF

SEED_ARGS=()
if [ "$SEED" != random ]; then SEED_ARGS=(--seed "$SEED"); fi
echo "schemathesis: st $ST_VERSION against $BASE/api/v1/openapi.json ($EXAMPLES examples per operation)" >&2
started=$(date +%s)
status=0
( cd "$WORK" && timeout --kill-after=10 "$TIMEOUT" \
    "$VENV/bin/st" --no-color --config-file "$WORK/schemathesis.toml" run \
    "$BASE/api/v1/openapi.json" \
    --checks all \
    --max-examples "$EXAMPLES" \
    --request-timeout 10 \
    --generation-database none \
    "${SEED_ARGS[@]}" "$@" ) || status=$?
elapsed=$(($(date +%s) - started))

if ! kill -0 "$PID" 2>/dev/null; then
    echo "schemathesis: quota serve died during the run:" >&2
    tail -n 50 "$WORK/server.log" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "schemathesis: ok (${elapsed} s)" >&2
else
    echo "schemathesis: FAILED (exit $status, ${elapsed} s)" >&2
fi
exit "$status"
