#!/usr/bin/env bash
# Latency of the runbook's hot endpoints on a release `quota serve` (memory store), measured
# with sequential curl calls on loopback (client and server share the machine's 2 cores).
#   bash scripts/server-bench.sh [N]
# Prints p50/p90/p99 of GET /usage-billing/summary and POST /usage-billing/record, and the
# server's own quota_summary_latency histogram count.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
PORT=${QUOTA_BENCH_PORT:-3390}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}/release/quota
[ -x "$BIN" ] || cargo build --release -p quota-server >&2
LOG=$(mktemp)
"$BIN" serve --port "$PORT" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 50); do grep -q ADMIN_JWT= "$LOG" && break; sleep 0.1; done
TOKEN=$(grep -o 'ADMIN_JWT=.*' "$LOG" | cut -d= -f2)
BASE=http://127.0.0.1:$PORT/api/v1
stats() { sort -n | awk '{a[NR]=$1} END {printf "n=%d p50=%.2fms p90=%.2fms p99=%.2fms\n", NR, a[int(NR*0.5)]*1000, a[int(NR*0.9)]*1000, a[int(NR*0.99)]*1000}'; }
echo "summary: $(for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$BASE/usage-billing/summary?brandId=brand_dashboard"; done | stats)"
echo "record : $(for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"brandId":"brand_dashboard","metric":"ai_generations"}' "$BASE/usage-billing/record"; done | stats)"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^quota_summary_latency_(count|sum)'
