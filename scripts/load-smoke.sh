#!/usr/bin/env bash
# Smoke run of the runbook's load scenarios (section 5): builds `quota` and `quota-load`
# (debug), starts `quota serve` on a free loopback port with the memory store, runs
# `usage-quota-guardian` and `quota-share-topup` for a few seconds each with the runbook's
# thresholds enforced (http_req_failed < 2 %, quota_summary_latency p(90) < 400 ms), stops the
# server. Exits non-zero when a build, the server or a threshold fails.
#   bash scripts/load-smoke.sh
# Knobs: LOAD_SMOKE_RATE (requests/s, default 100: enough renders to pass the demo brand's
# hard limit), LOAD_SMOKE_DURATION (default 5s), LOAD_SMOKE_PROFILE (dev or release, default
# dev), QUOTA_STORE_URL (default memory), LOAD_USAGE_ARGS / LOAD_SHARE_ARGS (extra flags of
# each scenario, e.g. LOAD_USAGE_ARGS="--threshold quota_summary_latency:p(99)<10"),
# LOAD_SMOKE_BIN_DIR (a directory holding built `quota` and `quota-load`: nothing is built;
# scripts/bench.sh uses it).
# shellcheck disable=SC2086 # LOAD_*_ARGS are split into flags on purpose
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}"
RATE=${LOAD_SMOKE_RATE:-100}
DURATION=${LOAD_SMOKE_DURATION:-5s}
PROFILE=${LOAD_SMOKE_PROFILE:-dev}
STORE=${QUOTA_STORE_URL:-memory}
# shellcheck source=lib/ci.sh
source scripts/lib/ci.sh
LOCKED=()
if quota_in_ci; then LOCKED=(--locked); fi

if [ -n "${LOAD_SMOKE_BIN_DIR:-}" ]; then
    BIN_DIR=$LOAD_SMOKE_BIN_DIR
elif [ "$PROFILE" = release ]; then
    cargo build "${LOCKED[@]}" --release -p quota-server -p quota-load >&2
    BIN_DIR=$CARGO_TARGET_DIR/release
else
    cargo build "${LOCKED[@]}" -p quota-server -p quota-load >&2
    BIN_DIR=$CARGO_TARGET_DIR/debug
fi

LOG=$(mktemp)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -f "$LOG"
}
trap cleanup EXIT

# Port 0: the server binds a free loopback port and prints it in its banner. Its own
# environment is cleared of secrets so it runs in dev mode and prints ADMIN_JWT / PUBLIC_KEY.
env -u QUOTA_ADMIN_JWT_SECRET -u QUOTA_API_KEY_SECRET -u STRIPE_SECRET_KEY \
    -u SLACK_WEBHOOK_URL -u SMTP_URL -u QUOTA_WEBHOOK_URL \
    "$BIN_DIR/quota" serve --host 127.0.0.1 --port 0 --store "$STORE" --dev \
    --max-pending-checkouts 1000000 >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    grep -q 'export PUBLIC_KEY=' "$LOG" && break
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "load-smoke: quota serve exited:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
BASE=$(grep -o 'listening on http://[^ ]*' "$LOG" | head -n1 | cut -d' ' -f3)
TOKEN=$(grep -o 'export ADMIN_JWT=.*' "$LOG" | head -n1 | cut -d= -f2-)
KEY=$(grep -o 'export PUBLIC_KEY=.*' "$LOG" | head -n1 | cut -d= -f2-)
if [ -z "$BASE" ] || [ -z "$TOKEN" ] || [ -z "$KEY" ]; then
    echo "load-smoke: no URL, ADMIN_JWT or PUBLIC_KEY in the server banner:" >&2
    cat "$LOG" >&2
    exit 1
fi
echo "load-smoke: quota serve on $BASE (store $STORE), $RATE requests/s for $DURATION per scenario" >&2

status=0
BASE_URL=$BASE BRAND_ID=brand_dashboard API_TOKEN=$TOKEN PUBLIC_API_KEY=$KEY \
    "$BIN_DIR/quota-load" usage-quota-guardian --rate "$RATE" --duration "$DURATION" \
    --threshold 'dropped_iterations:count<1' ${LOAD_USAGE_ARGS:-} || status=1
API_BASE=$BASE/api/v1 FRONTEND_URL=$BASE AUTH_TOKEN=$TOKEN BRAND_ID=brand_dashboard \
    "$BIN_DIR/quota-load" quota-share-topup --rate "$RATE" --duration "$DURATION" \
    --threshold 'dropped_iterations:count<1' ${LOAD_SHARE_ARGS:-} || status=1

if ! kill -0 "$PID" 2>/dev/null; then
    echo "load-smoke: quota serve died during the run:" >&2
    cat "$LOG" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "load-smoke: ok" >&2 || echo "load-smoke: FAILED" >&2
exit "$status"
