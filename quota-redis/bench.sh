#!/usr/bin/env bash
# Consume throughput of quota-redis next to redis-benchmark's trivial-script rate, on the same
# throwaway Redis, in one run. Prints both rates and their ratio (budget: >= 0.8).
#
#   bash quota-redis/bench.sh            # BENCH_OPS=200000 by default, 50 clients each side
#   ROUNDS=3 bash quota-redis/bench.sh   # alternate the two, 3 times
#   BENCH_IDEMPOTENT=1 bash quota-redis/bench.sh   # every consume carries a fresh idempotency key
#   CLUSTER=1 bash quota-redis/bench.sh  # against the 3-master cluster of scripts/redis-env.sh
#                                        # (redis-benchmark --cluster, keys spread by {tag})
#
# Starts its own redis-server on 127.0.0.1:${BENCH_PORT:-6391} (so other users of a shared
# 6379 do not skew it) and shuts it down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-6391}
OPS=${BENCH_OPS:-200000}
ROUNDS=${ROUNDS:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/quota-target-redis}

command -v redis-server >/dev/null || bash scripts/redis-env.sh start >/dev/null
DIR=$(mktemp -d /tmp/quota-redis-bench.XXXX)
redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done

cargo build -q --profile bench -p quota-redis --bench consume_throughput
BIN=$(ls -t "$CARGO_TARGET_DIR"/release/deps/consume_throughput-* | grep -v '\.d$' | head -1)

SCRIPT="return redis.call('INCRBY', KEYS[1], 1)"
SHA=$(redis-cli -p "$PORT" script load "$SCRIPT")
if [[ ${CLUSTER:-0} == 1 ]]; then
  eval "$(bash scripts/redis-env.sh start 2>/dev/null)"
  IFS=, read -r -a NODES <<<"$REDIS_CLUSTER_URLS"
  for n in "${NODES[@]}"; do redis-cli -u "$n" script load "$SCRIPT" >/dev/null; done
  CPORT=${NODES[0]##*:}
fi
echo "machine: $(nproc) cores, client and server on the same host; redis $(redis-server --version | grep -o 'v=[0-9.]*')"
for r in $(seq 1 "$ROUNDS"); do
  if [[ ${CLUSTER:-0} == 1 ]]; then
    RB=$(redis-benchmark -p "$CPORT" --cluster -c 50 -n "$OPS" -q evalsha "$SHA" 1 'bench:{tag}' | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    OUT=$(BENCH_CLUSTER_URLS=$REDIS_CLUSTER_URLS BENCH_OPS=$OPS "$BIN" --bench)
  else
    RB=$(redis-benchmark -p "$PORT" -c 50 -n "$OPS" -q evalsha "$SHA" 1 'bench:{k}' | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    OUT=$(REDIS_URL="redis://127.0.0.1:$PORT" BENCH_OPS=$OPS "$BIN" --bench)
  fi
  OURS=$(echo "$OUT" | grep -o 'consume: [0-9]*' | cut -d' ' -f2)
  echo "round $r: redis-benchmark $([[ ${CLUSTER:-0} == 1 ]] && echo '--cluster ')-c 50 -n $OPS evalsha <INCRBY script>: $RB req/s"
  echo "round $r: $OUT"
  awk -v a="$OURS" -v b="$RB" -v r="$r" 'BEGIN { printf "round %d: ratio quota-redis / redis-benchmark = %.2f\n", r, a / b }'
done
