#!/usr/bin/env bash
# Runs every ratio bench of the workspace side by side with its baseline, prints one table
# (measurement, figure, baseline, ratio, command, date) and writes it to docs/BENCHMARKS.md.
#
#   bash scripts/bench.sh                  # full run; writes docs/BENCHMARKS.md
#   bash scripts/bench.sh --quick          # short times and small counts, to check the script;
#                                          # the doc says "mode: quick" (placeholder figures)
#   bash scripts/bench.sh --only core,redis    # those groups only: prints their rows and leaves
#                                          # docs/BENCHMARKS.md alone (unless --out is given)
#   bash scripts/bench.sh --out FILE       # write the doc to FILE instead
#
# Groups: core tower redis postgres server load share forecast.
# Run it with nothing else on the machine: the load average before and after goes in the doc.
# Needs cargo, jq, curl; Redis (redis-server, redis-cli, redis-benchmark: scripts/redis-env.sh
# installs them when missing) and Postgres with psql and pgbench (scripts/pg-env.sh finds or
# starts a server; DATABASE_URL overrides). Loopback only. What it starts (a throwaway Redis, a
# 3-master cluster, quota servers, scratch databases) is stopped or dropped on exit.
# Fails (non-zero, nothing written) when a build or a bench fails or a figure is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: FAILED: %s\n' "$*" >&2
    exit 1
}

ALL_GROUPS=(core tower redis postgres server load share forecast)
MODE=full
ONLY=
OUT=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --only)
        [ $# -ge 2 ] || die "--only needs a list of groups (${ALL_GROUPS[*]})"
        ONLY=$2
        shift
        ;;
    --only=*) ONLY=${1#--only=} ;;
    --out)
        [ $# -ge 2 ] || die "--out needs a file"
        OUT=$2
        shift
        ;;
    --out=*) OUT=${1#--out=} ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

GROUPS_RUN=()
if [ -z "$ONLY" ]; then
    GROUPS_RUN=("${ALL_GROUPS[@]}")
    OUT=${OUT:-docs/BENCHMARKS.md}
else
    IFS=, read -r -a GROUPS_RUN <<<"$ONLY"
    for g in "${GROUPS_RUN[@]}"; do
        [[ " ${ALL_GROUPS[*]} " == *" $g "* ]] || die "unknown group '$g' (groups: ${ALL_GROUPS[*]})"
    done
fi
wants() { [[ " ${GROUPS_RUN[*]} " == *" $1 "* ]]; }

# Bounds of each mode: criterion times, Redis ops and rounds, Postgres seconds and rounds,
# sequential server calls, load rate and duration.
if [ "$MODE" = quick ]; then
    CRIT_ARGS=(--warm-up-time 0.5 --measurement-time 1 --sample-size 10 --noplot)
    REDIS_OPS=20000 REDIS_ROUNDS=1
    PG_SECS=2 PG_ROUNDS=1
    SERVER_N=30
    LOAD_RATE=100 LOAD_DURATION=3s
else
    CRIT_ARGS=(--warm-up-time 2 --measurement-time 5 --noplot)
    REDIS_OPS=200000 REDIS_ROUNDS=3
    PG_SECS=10 PG_ROUNDS=3
    SERVER_N=300
    LOAD_RATE=500 LOAD_DURATION=60s
fi
PG_CLIENTS=(10 50)

for tool in cargo jq curl awk; do
    command -v "$tool" >/dev/null || die "$tool is needed (jq: apt-get install jq)"
done

WORK=$(mktemp -d /tmp/quota-bench.XXXXXX)
mkdir -p "$WORK/logs" "$WORK/bin"
export CRITERION_HOME=$WORK/criterion # this run's estimates only, never a stale one
ROWS=$WORK/rows.tsv
: >"$ROWS"
REDIS_STATE=$WORK/redis-env
REDIS_STARTED=
PG_URL=
PG_LOAD_DB=

cleanup() {
    local status=$?
    if [ -n "$PG_LOAD_DB" ]; then
        psql "$PG_URL" -qAt -c "DROP DATABASE IF EXISTS \"$PG_LOAD_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [ -n "$REDIS_STARTED" ]; then
        REDIS_ENV_STATE=$REDIS_STATE bash scripts/redis-env.sh stop >/dev/null 2>&1 || true
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$WORK"
    else
        log "logs kept in $WORK/logs"
    fi
}
trap cleanup EXIT

# --- helpers -----------------------------------------------------------------------------

# Runs a command with its output in $WORK/logs/NAME.log (and on stderr); dies when it fails.
run() {
    local name=$1
    shift
    log "running $name: $*"
    if ! "$@" 2>&1 | tee "$WORK/logs/$name.log" >&2; then
        die "$name failed (log: $WORK/logs/$name.log)"
    fi
}

# A figure must be a positive number.
num() {
    [[ $2 =~ ^[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]] || die "$1: no figure (got '$2')"
    awk -v v="$2" 'BEGIN { exit !(v > 0) }' || die "$1: figure is zero"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
fmt_ns() {
    awk -v v="$1" 'BEGIN {
        if (v < 1000) printf "%.1f ns", v; else if (v < 1e6) printf "%.2f µs", v / 1e3; else printf "%.2f ms", v / 1e6 }'
}
fmt_ms() { awk -v v="$1" 'BEGIN { printf "%.2f ms", v }'; }
fmt_rate() { awk -v v="$1" -v u="$2" 'BEGIN { printf "%.0f %s", v, u }'; }
mean() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.6f", s / n }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }

# measurement figure baseline ratio command: one row, dated now (UTC).
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$(date -u '+%Y-%m-%d %H:%MZ')" >>"$ROWS"
    log "row: $1: $2 against $3 = $4"
}

# Criterion's median estimate (ns) of group/function from this run.
crit() {
    local f=$CRITERION_HOME/$1/new/estimates.json v
    [ -f "$f" ] || die "no criterion estimate for $1 ($f)"
    v=$(jq -r '.median.point_estimate' "$f")
    num "$1" "$v"
    echo "$v"
}

# Builds with cargo and copies the executables of the targets named into $WORK/bin, found in
# cargo's JSON messages (the shared target directory holds other worktrees' builds too).
build_copy() { # "name..." cargo-args...
    local names=$1 name exe
    shift
    cargo "$@" --message-format=json-render-diagnostics >"$WORK/logs/build-artifacts.json" ||
        die "cargo $* failed"
    for name in $names; do
        exe=$(jq -r --arg n "$name" \
            'select(.reason == "compiler-artifact" and .target.name == $n and .executable != null) | .executable' \
            "$WORK/logs/build-artifacts.json" | tail -n1)
        if [ -z "$exe" ] || [ ! -x "$exe" ]; then die "cargo $* built no executable for $name"; fi
        cp "$exe" "$WORK/bin/$name"
    done
}

# postgres://user@host:port/db?query with another database.
with_db() {
    local url=$1 db=$2 base query scheme rest
    base=${url%%\?*}
    query=${url#"$base"}
    scheme=${base%%://*}
    rest=${base#*://}
    echo "$scheme://${rest%%/*}/$db$query"
}

ensure_redis() {
    [ -n "$REDIS_STARTED" ] && return 0
    local out
    # A standalone server and a 3-master cluster of our own on free loopback ports (the probe
    # port 1 never answers, so a shared Redis on 6379 is not used), stopped on exit.
    out=$(env -u REDIS_URL -u REDIS_CLUSTER_URLS -u REDIS_PORT -u REDIS_CLUSTER_PORTS \
        REDIS_ENV_STATE="$REDIS_STATE" REDIS_PROBE_PORT=1 bash scripts/redis-env.sh start) ||
        die "scripts/redis-env.sh could not start Redis"
    REDIS_STARTED=1
    REDIS_URL=$(sed -n 's/^export REDIS_URL=//p' <<<"$out")
    REDIS_CLUSTER_URLS=$(sed -n 's/^export REDIS_CLUSTER_URLS=//p' <<<"$out")
    if [ -z "$REDIS_URL" ] || [ -z "$REDIS_CLUSTER_URLS" ]; then die "no Redis URLs from scripts/redis-env.sh"; fi
    for tool in redis-cli redis-benchmark; do
        command -v "$tool" >/dev/null || die "$tool is needed (apt-get install redis-tools)"
    done
    log "Redis: $REDIS_URL, cluster $REDIS_CLUSTER_URLS"
}

ensure_pg() {
    [ -n "$PG_URL" ] && return 0
    PG_URL=$(bash scripts/pg-env.sh --url) || die "scripts/pg-env.sh found no Postgres"
    for tool in psql pgbench; do
        command -v "$tool" >/dev/null || die "$tool is needed (apt-get install postgresql-client)"
    done
    psql "$PG_URL" -qAt -c 'select 1' >/dev/null || die "cannot connect to $PG_URL"
}

# --- build: everything first, so no compilation overlaps a measurement ----------------------
# Always the same two cargo invocations, whatever --only says: another package selection
# unifies features differently and rebuilds the shared dependencies. The benches are then run
# from the copied executables (what `cargo bench -p X --bench Y` would run, without the
# rebuild a different selection would cause).

build() {
    build_copy "consume layer consume_throughput consume_vs_pgbench" bench --no-run \
        -p quota-core --bench consume -p quota-tower --bench layer \
        -p quota-redis --bench consume_throughput -p quota-postgres --bench consume_vs_pgbench
    build_copy "quota quota-load token_cost backtest" build --profile bench \
        -p quota-server -p quota-load -p quota-share -p quota-core --bins \
        --example token_cost --example backtest
}

# Runs a bench executable as `cargo bench -p PACKAGE` does, from the package's directory, with
# the NAME=VALUE environment given first.
bench_exe() { # package-dir exe [NAME=VALUE...] [args...]
    local dir=$1 exe=$2 vars=()
    shift 2
    while [ $# -gt 0 ] && [[ $1 =~ ^[A-Z_][A-Z0-9_]*= ]]; do
        vars+=("$1")
        shift
    done
    (cd "$dir" && env "${vars[@]}" "$WORK/bin/$exe" --bench "$@")
}

# --- groups ------------------------------------------------------------------------------

bench_core() {
    run core bench_exe quota-core consume "${CRIT_ARGS[@]}"
    local ours gov
    ours=$(crit consume_1000_brands/quota_core_memory_consume)
    gov=$(crit consume_1000_brands/governor_keyed_check_key)
    row "core \`consume\`, MemoryStore, 1,000 brands, 1 thread" "$(fmt_ns "$ours")" \
        "$(fmt_ns "$gov") governor keyed \`check_key\`, same keys" "$(ratio "$ours" "$gov")" \
        "\`cargo bench -p quota-core --bench consume -- ${CRIT_ARGS[*]}\`"
}

bench_tower() {
    run tower bench_exe quota-tower layer "${CRIT_ARGS[@]}"
    local cmd="\`cargo bench -p quota-tower --bench layer -- ${CRIT_ARGS[*]}\`"
    local bare v name label
    bare=$(crit layer/bare)
    for name in quota_layer quota_layer_dyn_store quota_layer_with_burst; do
        case $name in
        quota_layer) label="\`QuotaLayer\` on an axum route (MemoryStore), in-process" ;;
        quota_layer_dyn_store) label="\`QuotaLayer\` over \`dyn Store\`, same route" ;;
        quota_layer_with_burst) label="\`QuotaLayer\` with a per-brand burst limit, same route" ;;
        esac
        v=$(crit "layer/$name")
        row "$label" "$(fmt_ns "$v")" "$(fmt_ns "$bare") the route without the layer" \
            "$(ratio "$v" "$bare")" "$cmd (\`layer/$name\`)"
    done
    bare=$(crit interleaved/bare)
    v=$(crit interleaved/quota_layer)
    row "\`QuotaLayer\`, calls interleaved with bare calls" "$(fmt_ns "$v")" \
        "$(fmt_ns "$bare") the bare calls of the same loop" "$(ratio "$v" "$bare")" "$cmd (\`interleaved/*\`)"
}

# One Redis scenario: ROUNDS alternated rounds of redis-benchmark then our consume; the ratio
# is of the means.
redis_scenario() { # label idempotent(0|1) cluster(0|1)
    local label=$1 idem=$2 cluster=$3 script sha r rb ours out rb_sum=0 ours_sum=0 host port key
    local rb_args=() our_env=() nodes=() node
    script="return redis.call('INCRBY', KEYS[1], 1)"
    if [ "$cluster" = 1 ]; then
        IFS=, read -r -a nodes <<<"$REDIS_CLUSTER_URLS"
        for node in "${nodes[@]}"; do sha=$(redis-cli -u "$node" script load "$script"); done
        host=${nodes[0]#redis://}
        rb_args=(--cluster)
        our_env=(BENCH_CLUSTER_URLS="$REDIS_CLUSTER_URLS")
        key='bench:{tag}'
    else
        sha=$(redis-cli -u "$REDIS_URL" script load "$script")
        host=${REDIS_URL#redis://}
        our_env=(REDIS_URL="$REDIS_URL")
        key='bench:{k}'
    fi
    port=${host##*:}
    host=${host%:*}
    [ -n "$sha" ] || die "redis: SCRIPT LOAD gave no sha"
    for r in $(seq 1 "$REDIS_ROUNDS"); do
        out=$(redis-benchmark -h "$host" -p "$port" "${rb_args[@]}" -c 50 -n "$REDIS_OPS" -q \
            evalsha "$sha" 1 "$key" 2>&1) || die "redis-benchmark failed: $out"
        rb=$(tr '\r' '\n' <<<"$out" | grep -o '[0-9.]* requests per second' | tail -n1 | cut -d' ' -f1)
        num "redis-benchmark ($label, round $r)" "$rb"
        out=$(bench_exe quota-redis consume_throughput "${our_env[@]}" BENCH_OPS="$REDIS_OPS" \
            BENCH_TASKS=50 BENCH_THREADS=2 BENCH_IDEMPOTENT="$idem" 2>&1) ||
            die "quota-redis consume_throughput failed: $out"
        ours=$(grep -o 'consume: [0-9.]* ops/s' <<<"$out" | cut -d' ' -f2)
        num "quota-redis consume ($label, round $r)" "$ours"
        printf 'redis %s round %d: redis-benchmark %s req/s, consume %s ops/s\n' "$label" "$r" "$rb" "$ours" |
            tee -a "$WORK/logs/redis.log" >&2
        rb_sum=$(add "$rb_sum" "$rb")
        ours_sum=$(add "$ours_sum" "$ours")
    done
    rb=$(mean "$rb_sum" "$REDIS_ROUNDS")
    ours=$(mean "$ours_sum" "$REDIS_ROUNDS")
    local cluster_flag='' where='a throwaway redis-server'
    [ "$cluster" = 1 ] && cluster_flag='--cluster ' && where='a 3-master cluster'
    row "Redis consume, 50 callers, $label" "$(fmt_rate "$ours" ops/s)" \
        "$(fmt_rate "$rb" req/s) \`redis-benchmark\` trivial script" "$(ratio "$ours" "$rb")" \
        "\`BENCH_OPS=$REDIS_OPS BENCH_IDEMPOTENT=$idem cargo bench -p quota-redis --bench consume_throughput\` vs \`redis-benchmark ${cluster_flag}-c 50 -n $REDIS_OPS evalsha <INCRBY script> 1 $key\` on $where, $REDIS_ROUNDS round(s) alternated"
}

bench_redis() {
    ensure_redis
    : >"$WORK/logs/redis.log"
    redis_scenario "standalone" 0 0
    redis_scenario "3-master cluster" 0 1
    redis_scenario "fresh idempotency key per call (information)" 1 0
}

bench_postgres() {
    ensure_pg
    local clients
    clients=$(
        IFS=,
        echo "${PG_CLIENTS[*]}"
    )
    run postgres bench_exe quota-postgres consume_vs_pgbench DATABASE_URL="$PG_URL" \
        QUOTA_BENCH_SECS="$PG_SECS" QUOTA_BENCH_ROUNDS="$PG_ROUNDS" QUOTA_BENCH_CLIENTS="$clients"
    local c line ours theirs
    for c in "${PG_CLIENTS[@]}"; do
        # One line per round (`| 10 | ours | pgbench | ratio |`), then, with several rounds,
        # their total (`| 10 (all 3 rounds) | ...`).
        if [ "$PG_ROUNDS" -gt 1 ]; then
            line=$(grep -E "^\| $c \(all " "$WORK/logs/postgres.log" | tail -n1 || true)
        else
            line=$(grep -E "^\| $c \|" "$WORK/logs/postgres.log" | tail -n1 || true)
        fi
        ours=$(awk -F'|' '{ gsub(/ /, "", $3); print $3 }' <<<"$line")
        theirs=$(awk -F'|' '{ gsub(/ /, "", $4); print $4 }' <<<"$line")
        num "postgres consume, $c clients" "$ours"
        num "pgbench, $c clients" "$theirs"
        row "Postgres consume, one hot row, $c clients" "$(fmt_rate "$ours" ops/s)" \
            "$(fmt_rate "$theirs" tps) \`pgbench\` 1-row UPDATE, same clients" "$(ratio "$ours" "$theirs")" \
            "\`QUOTA_BENCH_SECS=$PG_SECS QUOTA_BENCH_ROUNDS=$PG_ROUNDS QUOTA_BENCH_CLIENTS=$clients cargo bench -p quota-postgres --bench consume_vs_pgbench\` (\`pgbench -n -j 2 -c $c -T $PG_SECS\` inside, rounds alternated)"
    done
}

bench_server() {
    run server env QUOTA_BIN="$WORK/bin/quota" bash scripts/server-bench.sh "$SERVER_N"
    local base v name label
    base=$(sed -n 's/^healthz n=[0-9]* p50=\([0-9.]*\)ms.*/\1/p' "$WORK/logs/server.log")
    num "server /healthz p50" "$base"
    for name in summary record; do
        case $name in
        summary) label="QA server \`GET /api/v1/usage-billing/summary\`, sequential curl, p50" ;;
        record) label="QA server \`POST /api/v1/usage-billing/record\`, sequential curl, p50" ;;
        esac
        v=$(sed -n "s/^$name n=[0-9]* p50=\([0-9.]*\)ms.*/\1/p" "$WORK/logs/server.log")
        num "server $name p50" "$v"
        row "$label" "$(fmt_ms "$v")" "$(fmt_ms "$base") \`GET /healthz\`, same server and client" \
            "$(ratio "$v" "$base")" "\`bash scripts/server-bench.sh $SERVER_N\`"
    done
}

# The p99 (ms) of a named latency in a quota-load summary.
p99() { # log metric
    sed -n "s/^ *$2\.*: n=[0-9]* .*p(99)=\([0-9.]*\)ms.*/\1/p" "$1" | tail -n1
}

bench_load() {
    ensure_redis
    ensure_pg
    PG_LOAD_DB=quota_bench_load_$$
    psql "$PG_URL" -qAt -c "CREATE DATABASE \"$PG_LOAD_DB\"" >/dev/null || die "cannot create $PG_LOAD_DB"
    redis-cli -u "$REDIS_URL" -n 13 flushdb >/dev/null
    local store url gate='--threshold http_req_failed:count<1'
    for store in memory redis postgres; do
        case $store in
        memory) url=memory ;;
        redis) url=$REDIS_URL/13 ;;
        postgres) url=$(with_db "$PG_URL" "$PG_LOAD_DB") ;;
        esac
        run "load-$store" env LOAD_SMOKE_BIN_DIR="$WORK/bin" LOAD_SMOKE_RATE="$LOAD_RATE" \
            LOAD_SMOKE_DURATION="$LOAD_DURATION" QUOTA_STORE_URL="$url" \
            LOAD_USAGE_ARGS="$gate" LOAD_SHARE_ARGS="$gate" bash scripts/load-smoke.sh
    done
    local metric scenario base v label
    for metric in quota_summary_latency share_page_latency; do
        case $metric in
        quota_summary_latency) scenario=usage-quota-guardian ;;
        share_page_latency) scenario=quota-share-topup ;;
        esac
        base=$(p99 "$WORK/logs/load-memory.log" "$metric")
        num "load $metric p99, memory store" "$base"
        for store in redis postgres; do
            v=$(p99 "$WORK/logs/load-$store.log" "$metric")
            num "load $metric p99, $store store" "$v"
            case $store in redis) label=Redis ;; postgres) label=Postgres ;; esac
            row "load \`$scenario\` at $LOAD_RATE/s for $LOAD_DURATION, $label store: \`$metric\` p99" \
                "$(fmt_ms "$v")" "$(fmt_ms "$base") memory store, same load" "$(ratio "$v" "$base")" \
                "\`LOAD_SMOKE_PROFILE=release LOAD_SMOKE_RATE=$LOAD_RATE LOAD_SMOKE_DURATION=$LOAD_DURATION LOAD_USAGE_ARGS='$gate' LOAD_SHARE_ARGS='$gate' QUOTA_STORE_URL=<$store URL, fresh> bash scripts/load-smoke.sh\`, then the same with \`QUOTA_STORE_URL=memory\`"
        done
    done
}

# A Duration's Debug text (`878ns`, `1.27µs`, `3.1ms`) in ns.
to_ns() {
    awk -v t="$1" 'BEGIN {
        if (match(t, /^[0-9.]+/) == 0) exit 1
        v = substr(t, 1, RLENGTH); u = substr(t, RLENGTH + 1)
        if (u == "ns") m = 1; else if (u == "µs" || u == "us") m = 1e3; else if (u == "ms") m = 1e6; else if (u == "s") m = 1e9; else exit 1
        printf "%.3f", v * m }'
}

bench_share() {
    run share "$WORK/bin/token_cost"
    local f=$WORK/logs/share.log valid forged full
    valid=$(to_ns "$(sed -n 's/^verify (valid[^:]*: *\([^ ]*\) per token/\1/p' "$f")" || true)
    forged=$(to_ns "$(sed -n 's/^verify (bad signature[^:]*: *\([^ ]*\) per token/\1/p' "$f")" || true)
    full=$(to_ns "$(sed -n 's/^verify_and_check[^:]*: *\([^ ]*\) per token/\1/p' "$f")" || true)
    num "share verify (valid)" "$valid"
    num "share verify (bad signature)" "$forged"
    num "share verify_and_check" "$full"
    local cmd="\`cargo run --profile bench -p quota-share --example token_cost\`"
    row "share token verify, valid token (HS256, JSON claims)" "$(fmt_ns "$valid")" \
        "$(fmt_ns "$forged") forged token refused (signature check only)" "$(ratio "$valid" "$forged")" "$cmd"
    row "share page token check: \`verify_and_check\`, memory revocations" "$(fmt_ns "$full")" \
        "$(fmt_ns "$valid") verify alone" "$(ratio "$full" "$valid")" "$cmd"
}

# The forecaster's backtest (deterministic: the same figures in both modes): the summary line
# "| **all kinds** | 7–21 | **MAPE** | **naive MAPE** | **coverage** | **width** |".
bench_forecast() {
    run forecast "$WORK/bin/backtest"
    local f=$WORK/logs/forecast.log line mape naive coverage width
    line=$(grep -F '| **all kinds** |' "$f" | tr -d '*%' | tr -s ' ')
    mape=$(awk -F'|' '{ gsub(/ /, "", $4); print $4 }' <<<"$line")
    naive=$(awk -F'|' '{ gsub(/ /, "", $5); print $5 }' <<<"$line")
    coverage=$(awk -F'|' '{ gsub(/ /, "", $6); print $6 }' <<<"$line")
    width=$(awk -F'|' '{ gsub(/ /, "", $7); print $7 }' <<<"$line")
    num "forecast MAPE" "$mape"
    num "naive MAPE" "$naive"
    num "band coverage" "$coverage"
    num "band width" "$width"
    local cmd="\`cargo run --release -p quota-core --example backtest\` (7 trace kinds, checkpoints at days 7, 14, 21)"
    row "month-end projection, backtest: mean absolute percentage error" "$mape %" \
        "$naive % the naive line (used / elapsed x period), same traces" "$(ratio "$mape" "$naive")" "$cmd"
    row "month-end projection, backtest: 80 % band, share of real totals inside it" "$coverage %" \
        "80 % asked (70-95 % accepted); mean width $width % of the real total (at most 40 %)" \
        "$(ratio "$coverage" 80)" "$cmd"
}

# --- the run -----------------------------------------------------------------------------

STARTED=$(date -u +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "mode $MODE, groups: ${GROUPS_RUN[*]}; load average $LOAD_BEFORE"
if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
    log "warning: the machine is busy (load average $LOAD_BEFORE on $(nproc) cores): figures will be noisy"
fi
t0=$(date -u +%s)
build
log "build took $(($(date -u +%s) - t0)) s"
for g in "${GROUPS_RUN[@]}"; do
    t0=$(date -u +%s)
    "bench_$g"
    log "group $g took $(($(date -u +%s) - t0)) s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date -u +%s) - STARTED))

TABLE=$WORK/table.md
{
    echo '| measurement | figure | baseline | ratio | command | date |'
    echo '|---|---:|---|---:|---|---|'
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$ROWS"
} >"$TABLE"
cat "$TABLE"

[ -n "$OUT" ] || {
    log "done in ${ELAPSED}s (nothing written: --only without --out)"
    exit 0
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
# shellcheck disable=SC1091 # the machine's own file
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
soft="$(rustc --version | cut -d' ' -f1-2)"
if [ -n "${REDIS_STARTED:-}" ]; then
    soft="$soft, Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)"
fi
if [ -n "$PG_URL" ]; then
    soft="$soft, PostgreSQL $(psql "$PG_URL" -qAt -c 'show server_version' | cut -d' ' -f1)"
fi
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!docs/BENCHMARKS.md' 2>/dev/null || commit="$commit + uncommitted changes"
if [ "$MODE" = quick ]; then
    mode_line="**mode: quick** (\`--quick\`: short times and small counts, to check the script; these figures are placeholders, not measurements: regenerate with \`bash scripts/bench.sh\`)"
else
    mode_line="mode: full"
fi

DOC=$WORK/doc.md
{
    cat <<'EOF'
# Benchmarks

Generated by `bash scripts/bench.sh`; do not edit by hand (history is in git). Each row runs a
measurement and its baseline side by side, in the same run, on the same machine, client and
server on loopback. Absolute figures move with the machine; **the ratio is what counts**, and
only when nothing else runs on the cores (see the load average below). Ratio = figure /
baseline: for times lower is better, for throughputs (ops/s) higher is better.

Re-run: `bash scripts/bench.sh` (every group, rewrites this file), `bash scripts/bench.sh
--quick` (short times, to check the script), `bash scripts/bench.sh --only core,tower` (prints
those rows, leaves this file alone). Groups: core, tower, redis, postgres, server, load, share, forecast.

EOF
    echo "- $mode_line; the run took $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
    echo "- machine: $(nproc) cores ($cpu), $mem RAM${os:+, $os}; client, server and stores share the cores."
    echo "- software: $soft; commit $commit; release builds (\`--profile bench\`)."
    echo "- load average (1, 5, 15 min): $LOAD_BEFORE before the run, $LOAD_AFTER after."
    echo
    cat "$TABLE"
    cat <<'EOF'

## What each row measures

- **core `consume`** (budget: at most 2x governor). `QuotaGuard::consume(brand, "api_calls", 1,
  None)` over a `MemoryStore`, the allowed path without an idempotency key, round-robin over
  1,000 subscribed brands, one thread, polled without a runtime; baseline: governor's
  `RateLimiter::keyed(..).check_key(&brand)` over the same 1,000 keys in the same process.
  Criterion's median. At 1,000 brands the call is bound by memory latency more than by
  instructions. A noise-free instruction count: `cargo build --release -p quota-core --example
  hotpath`, then `valgrind --tool=callgrind target/release/examples/hotpath {none,ours,gov} N`
  for N = 100000 and 200000; per call = the difference of the two runs, minus the same for
  `none` (under valgrind `quanta` reads `clock_gettime` on both sides).
- **`QuotaLayer`** (quota-tower). The same axum route (`POST /renders` -> `"rendered"`) called
  in-process with `oneshot` (no socket, current-thread runtime), bare and behind `QuotaLayer`:
  brand from the `x-brand-id` header, consume of 1 unit (an allowance never exhausted, so every
  call takes the allowed path), `RateLimit-Policy` and `RateLimit` headers written. Variants:
  the store as `dyn Store`, and a per-brand governor burst limit. The interleaved row alternates
  a bare and a guarded call in one loop and times each, so both see the same machine load: the
  fairest ratio on a shared machine. Figure minus baseline is the layer's cost per request
  against a handler that does nothing; the same bench also reports `layer/guard_consume_only`
  (the core decision alone) to split that cost.
- **Redis consume** (budget: at least 0.8x). One `RedisStore` (one multiplexed connection)
  driven by 50 tokio tasks on 2 workers: consumes of 1 unit on one counter with a ceiling (every
  call admitted, asserted), after a warm-up of a tenth as many; baseline: `redis-benchmark -c 50
  evalsha` of `return redis.call('INCRBY', KEYS[1], 1)` on the same server. Both run against a
  throwaway `redis-server` (no persistence) or a 3-master cluster (`redis-benchmark --cluster`,
  keys `bench:{tag}`) started by `scripts/redis-env.sh` on free loopback ports, rounds
  alternated, ratio of the means. The multiplexed connection pipelines the 50 tasks' calls, so
  Redis reads and writes many commands per syscall where `redis-benchmark`'s 50 connections pay
  one of each per request: the ratio can exceed 1. With a fresh idempotency key per call the
  script also reads and writes the key: shown for information, the budget names plain consume.
  Server time per script: `INFO commandstats` (`usec_per_call`).
- **Postgres consume** (budget: at least 0.8x). `PostgresStore::consume` of 1 unit on one hot
  (brand, metric) under a hard ceiling, no idempotency key (the one-statement `FAST_CONSUME`
  path on dedicated connections), from N tokio tasks with N connections, after a 1 s warm-up;
  baseline: `pgbench -n -j 2 -c N -T S` running `UPDATE bench_hot SET n = n + 1 WHERE id = 1`.
  Same server, a scratch database of the bench's own, the server's durability settings (the
  bench prints `fsync` and `synchronous_commit`), rounds alternated, ratio of the totals. On one
  hot row the limit is server side: the ledger row and the day's bucket are written inside the
  counter's row-lock window, which bounds a hot counter at 50 clients whatever the client does.
- **QA server, sequential**. A `quota serve` (memory store, demo catalog, seeded
  `brand_dashboard`) called N times in a row by curl, a new connection per call: the summary
  (admin JWT) and a record of 1 `ai_generations` unit; baseline: `GET /healthz` on the same
  server with the same client in the same run (HTTP and curl, no quota work). The figure is the
  median of curl's `time_total`; connection set-up dominates. The runbook's budget is summary
  p90 < 400 ms; under concurrent load see the load rows.
- **Load scenarios** (runbook section 5). `quota-load` against a `quota serve` on the same
  cores: an open model (slot i starts at i / rate whatever the latency of earlier answers;
  latency from send to the end of the body), `usage-quota-guardian` (summary, designs and
  renders metered by `QuotaLayer`, record) then `quota-share-topup` (share link, share page,
  top-up checkout), one brand (the worst case for per-brand locking). Figure: the p99 of the
  named latency on Redis or Postgres (a fresh database); baseline: the same load on the memory
  store in the same run. A run fails on any failed request or dropped slot, or when the
  runbook's gate breaks (p90 < 400 ms, < 2 % failed); a 429 past the demo brand's hard
  `renders_2d` limit is an expected denial, not a failure. Budgets (issue): summary p99 < 10 ms
  on memory, < 25 ms on Redis and Postgres, 0 failed.
- **Share tokens**. 200,000 tokens per operation, one thread, no HTTP: verifying a valid token
  (base64url, HS256, JSON header and claims) against refusing a forged one (the signature check,
  before any claim is decoded), then `verify_and_check` with `MemoryRevocations` (what the share
  page pays before it reads the snapshot) against verify alone. The example also prints the cost
  of issuing a token, which has no baseline.
- **Month-end projection** (goals: MAPE at most 10 % and at most half the naive line's; band
  coverage 70-95 %, mean width at most 40 %). The forecaster of `quota_core::report` on
  synthetic 31-day traces of seven kinds (steady with noise, linear ramp, weekly season, one-off
  spike, decay after a launch, step up mid-month, reset to a target), read at days 7, 14 and 21
  and compared with each trace's real month-end total; baseline: the naive line `used / elapsed
  x period` on the same traces. Deterministic (seeded traces): the same figures on any machine.
  The example prints the table per kind and checkpoint; the fast version of the same checks runs
  in `cargo test -p quota-core --test backtest`.
EOF
} >"$DOC"
mkdir -p "$(dirname "$OUT")"
cp "$DOC" "$OUT"
log "wrote $OUT; done in ${ELAPSED}s"
