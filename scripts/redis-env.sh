#!/usr/bin/env bash
# Throwaway Redis servers for the quota-redis tests and bench.
#
#   source scripts/redis-env.sh                 # starts them and exports REDIS_URL, REDIS_CLUSTER_URLS
#   eval "$(bash scripts/redis-env.sh start)"   # the same: `start` prints the export lines
#   bash scripts/redis-env.sh stop              # shuts down only what `start` launched
#
# Standalone: $REDIS_URL if set; else a Redis answering on 127.0.0.1:${REDIS_PROBE_PORT:-6379}; else a new
# redis-server on 127.0.0.1:${REDIS_PORT:-6390}.
# Cluster: $REDIS_CLUSTER_URLS if set; else 3 masters on 127.0.0.1 ports
# ${REDIS_CLUSTER_PORTS:-7101 7102 7103} (reused when they already form a healthy cluster).
# Installs redis-server/redis-tools from Debian's packages when they are missing.
# Everything it starts listens on loopback only, keeps no data (--save '' --appendonly no)
# and is recorded in $STATE/started so that `stop` never touches anyone else's server.

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  # Sourced (scripts/test.sh does so): run as a child process, export into the caller.
  __redis_env_out=$(bash "${BASH_SOURCE[0]}" start) || return 1
  eval "$__redis_env_out"
  unset __redis_env_out
  echo "redis-env: REDIS_URL=$REDIS_URL REDIS_CLUSTER_URLS=$REDIS_CLUSTER_URLS" >&2
  return 0
fi

set -euo pipefail

STATE=${REDIS_ENV_STATE:-/tmp/quota-redis-env}
REDIS_PORT=${REDIS_PORT:-6390}
PROBE_PORT=${REDIS_PROBE_PORT:-6379}
read -r -a CLUSTER_PORTS <<<"${REDIS_CLUSTER_PORTS:-7101 7102 7103}"

log() { echo "redis-env: $*" >&2; }

answers() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

wait_port() {
  for _ in $(seq 1 100); do answers "$1" && return 0; sleep 0.1; done
  log "redis on port $1 did not start; its log:"; cat "$STATE/$1/redis.log" >&2 || true
  return 1
}

cluster_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

ensure_installed() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return 0; fi
  log "installing redis-server and redis-tools from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends redis-server redis-tools >&2
}

launch() { # port [extra redis-server args...]
  local port=$1; shift
  rm -rf "${STATE:?}/$port"; mkdir -p "$STATE/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$STATE/$port" --pidfile "$STATE/$port/redis.pid" --logfile "$STATE/$port/redis.log" "$@"
  echo "$port" >>"$STATE/started"
}

start() {
  ensure_installed
  mkdir -p "$STATE"
  local url=${REDIS_URL:-}
  if [[ -z $url ]]; then
    if answers "$PROBE_PORT"; then
      url=redis://127.0.0.1:$PROBE_PORT
      log "using the Redis that answers on 127.0.0.1:$PROBE_PORT"
    else
      answers "$REDIS_PORT" || { launch "$REDIS_PORT"; wait_port "$REDIS_PORT"; }
      url=redis://127.0.0.1:$REDIS_PORT
    fi
  fi
  local cluster=${REDIS_CLUSTER_URLS:-}
  if [[ -z $cluster ]]; then
    if ! cluster_ok "${CLUSTER_PORTS[0]}"; then
      local nodes=()
      for p in "${CLUSTER_PORTS[@]}"; do
        if answers "$p"; then
          # a broken cluster of ours from an earlier run is replaced; anyone else's server is left alone
          if grep -qx "$p" "$STATE/started" 2>/dev/null; then
            redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
            for _ in $(seq 1 50); do answers "$p" || break; sleep 0.1; done
          else
            log "port $p is taken by a server this script did not start: set REDIS_CLUSTER_PORTS or REDIS_CLUSTER_URLS"
            return 1
          fi
        fi
        launch "$p" --cluster-enabled yes --cluster-config-file "$STATE/$p/nodes.conf" \
          --cluster-node-timeout 5000
        nodes+=("127.0.0.1:$p")
      done
      for p in "${CLUSTER_PORTS[@]}"; do wait_port "$p"; done
      redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >&2
      for p in "${CLUSTER_PORTS[@]}"; do
        for _ in $(seq 1 100); do cluster_ok "$p" && break; sleep 0.1; done
        cluster_ok "$p" || { log "cluster node $p is not ok"; return 1; }
      done
    else
      log "reusing the healthy cluster on ports ${CLUSTER_PORTS[*]}"
    fi
    cluster=$(printf 'redis://127.0.0.1:%s,' "${CLUSTER_PORTS[@]}"); cluster=${cluster%,}
  fi
  echo "export REDIS_URL=$url"
  echo "export REDIS_CLUSTER_URLS=$cluster"
}

stop() {
  [[ -f $STATE/started ]] || return 0
  sort -u "$STATE/started" | while read -r port; do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do answers "$port" || break; sleep 0.1; done
  done
  rm -f "$STATE/started"
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
