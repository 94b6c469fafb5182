#!/usr/bin/env bash
# Latency of the runbook's hot endpoints on a `quota serve` (memory store, demo brand), measured
# with sequential curl calls on loopback (a new connection per call), next to the baseline:
# GET /healthz on the same server with the same client in the same run (HTTP and curl, no
# quota work). Client and server share the machine's cores.
#   bash scripts/server-bench.sh [N]        # N calls per endpoint, default 300
# Prints one line per endpoint, `NAME n=N p50=X.XXXms p90=X.XXXms p99=X.XXXms` (healthz, summary,
# record), then the server's own quota_summary_latency_seconds count and sum. Exits non-zero when the
# server does not start or a call does not answer 2xx.
# QUOTA_BIN: a built `quota` binary to run (default: `cargo build --profile bench -p
# quota-server`, the release profile with line tables).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "server-bench: N must be a positive integer" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}
BIN=${QUOTA_BIN:-}
if [ -z "$BIN" ]; then
    cargo build --profile bench -p quota-server >&2
    BIN=$CARGO_TARGET_DIR/release/quota
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

# Port 0: a free loopback port, read from the banner. Secrets cleared: dev mode, which prints
# ADMIN_JWT.
env -u QUOTA_ADMIN_JWT_SECRET -u QUOTA_API_KEY_SECRET -u STRIPE_SECRET_KEY \
    -u SLACK_WEBHOOK_URL -u SMTP_URL -u QUOTA_WEBHOOK_URL -u QUOTA_STORE_URL \
    "$BIN" serve --host 127.0.0.1 --port 0 >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    grep -q 'export ADMIN_JWT=' "$LOG" && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
ROOT=$(grep -o 'listening on http://[^ ]*' "$LOG" | head -n1 | cut -d' ' -f3)
TOKEN=$(grep -o 'export ADMIN_JWT=.*' "$LOG" | head -n1 | cut -d= -f2-)
if [ -z "$ROOT" ] || [ -z "$TOKEN" ]; then
    echo "server-bench: no URL or ADMIN_JWT in the server banner:" >&2
    cat "$LOG" >&2
    exit 1
fi
BASE=$ROOT/api/v1

# Reads `code seconds` lines; fails on a non-2xx answer; prints nearest-rank percentiles.
stats() {
    local lines
    lines=$(cat)
    if awk '$1 !~ /^2/ { print; bad = 1; exit } END { exit !bad }' <<<"$lines" >&2; then
        echo "server-bench: $1: a call did not answer 2xx (code, seconds above)" >&2
        return 1
    fi
    cut -d' ' -f2 <<<"$lines" | sort -n | awk -v name="$1" '
        { t[NR] = $1 * 1000 }
        function rank(p,   r) { r = int(p * NR); if (r < p * NR) r++; if (r < 1) r = 1; return r }
        END {
            if (NR == 0) exit 1
            printf "%s n=%d p50=%.3fms p90=%.3fms p99=%.3fms\n", name, NR, t[rank(0.50)], t[rank(0.90)], t[rank(0.99)]
        }'
}
call() { curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "$@"; }

for _ in $(seq 1 "$N"); do call "$ROOT/healthz"; done | stats healthz
for _ in $(seq 1 "$N"); do
    call -H "Authorization: Bearer $TOKEN" "$BASE/usage-billing/summary?brandId=brand_dashboard"
done | stats summary
for _ in $(seq 1 "$N"); do
    call -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
        -d '{"brandId":"brand_dashboard","metric":"ai_generations"}' "$BASE/usage-billing/record"
done | stats record
curl -sS "$ROOT/metrics" | grep -E '^quota_summary_latency_seconds_(count|sum)'
