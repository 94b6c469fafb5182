#!/usr/bin/env bash
# Throwaway Redis servers for the quota-redis tests and bench.
#
#   source scripts/redis-env.sh                 # starts them and exports REDIS_URL, REDIS_CLUSTER_URLS
#   eval "$(bash scripts/redis-env.sh start)"   # the same: `start` prints the export lines
#   bash scripts/redis-env.sh stop              # shuts down only what `start` launched
#
# Standalone: $REDIS_URL if set; else a Redis answering on 127.0.0.1:${REDIS_PROBE_PORT:-6379};
# else a new redis-server on 127.0.0.1:$REDIS_PORT when that is set, or on a free port.
# Cluster: $REDIS_CLUSTER_URLS if set; else 3 masters on 127.0.0.1, on the ports of
# $REDIS_CLUSTER_PORTS when set (e.g. "7101 7102 7103"), otherwise on free ports picked in
# ${REDIS_ENV_PORT_MIN:-11000}-${REDIS_ENV_PORT_MAX:-19999} (their cluster bus ports, +10000,
# stay below Linux's ephemeral range). A port that another process takes between the pick and
# the start is detected (the server's pid is checked) and the pick is retried; a cluster this
# script started earlier is reused while it is healthy.
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
PROBE_PORT=${REDIS_PROBE_PORT:-6379}
PORT_MIN=${REDIS_ENV_PORT_MIN:-11000}
PORT_MAX=${REDIS_ENV_PORT_MAX:-19999}
ATTEMPTS=5

log() { echo "redis-env: $*" >&2; }

answers() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

# Something accepts connections on the port.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cluster_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

ensure_installed() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return 0; fi
  log "installing redis-server and redis-tools from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends redis-server redis-tools >&2
}

# The server answering on the port is the one this script started there (same pid).
ours() {
  local port=$1 pid
  pid=$(cat "$STATE/$port/redis.pid" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$pid"
}

# A port free right now, with its cluster bus port (+10000), and not in "$@".
pick_port() {
  local p _
  for _ in $(seq 1 200); do
    p=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % (PORT_MAX - PORT_MIN + 1)))
    [[ " $* " == *" $p "* ]] && continue
    listening "$p" || listening "$((p + 10000))" || { echo "$p"; return 0; }
  done
  log "no free port in $PORT_MIN-$PORT_MAX"
  return 1
}

shutdown_port() {
  redis-cli -h 127.0.0.1 -p "$1" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do answers "$1" || break; sleep 0.1; done
}

# Starts a server on the port and waits until it answers as ours; status 1 (and nothing left
# running) when it cannot bind the port or someone else answers there.
launch() { # port [extra redis-server args...]
  local port=$1; shift
  rm -rf "${STATE:?}/$port"; mkdir -p "$STATE/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$STATE/$port" --pidfile "$STATE/$port/redis.pid" --logfile "$STATE/$port/redis.log" "$@" \
    >&2 || return 1
  for _ in $(seq 1 100); do
    if ours "$port"; then
      echo "$port" >>"$STATE/started"
      return 0
    fi
    if grep -qiE 'address already in use|could not create server tcp|failed listening' \
      "$STATE/$port/redis.log" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  log "redis on port $port did not start as ours; its log:"
  tail -n 5 "$STATE/$port/redis.log" >&2 2>/dev/null || true
  local pid
  pid=$(cat "$STATE/$port/redis.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  return 1
}

start_standalone() {
  if [[ -n ${REDIS_URL:-} ]]; then echo "$REDIS_URL"; return 0; fi
  if answers "$PROBE_PORT"; then
    log "using the Redis that answers on 127.0.0.1:$PROBE_PORT"
    echo "redis://127.0.0.1:$PROBE_PORT"
    return 0
  fi
  local port
  port=$(cat "$STATE/standalone-port" 2>/dev/null || true)
  if [[ -n $port ]] && ours "$port"; then
    echo "redis://127.0.0.1:$port"
    return 0
  fi
  if [[ -n ${REDIS_PORT:-} ]]; then
    answers "$REDIS_PORT" || launch "$REDIS_PORT" || return 1
    echo "redis://127.0.0.1:$REDIS_PORT"
    return 0
  fi
  for _ in $(seq 1 "$ATTEMPTS"); do
    port=$(pick_port) || return 1
    if launch "$port"; then
      echo "$port" >"$STATE/standalone-port"
      echo "redis://127.0.0.1:$port"
      return 0
    fi
  done
  log "could not start a standalone Redis in $ATTEMPTS attempts"
  return 1
}

cluster_node_args() { # port
  echo --cluster-enabled yes --cluster-config-file "$STATE/$1/nodes.conf" --cluster-node-timeout 5000
}

# Creates the cluster over running, empty nodes; waits until every node says ok.
form_cluster() {
  local nodes=() p
  for p in "$@"; do nodes+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >&2 || return 1
  for p in "$@"; do
    for _ in $(seq 1 100); do cluster_ok "$p" && break; sleep 0.1; done
    cluster_ok "$p" || { log "cluster node $p is not ok"; return 1; }
  done
}

# The cluster on the given ports (REDIS_CLUSTER_PORTS): reused when healthy; a broken one of
# ours is replaced; a port held by anyone else is an error (nothing is retried elsewhere).
cluster_on_fixed_ports() {
  local ports=("$@") p
  if cluster_ok "${ports[0]}"; then
    log "reusing the healthy cluster on ports ${ports[*]}"
    return 0
  fi
  for p in "${ports[@]}"; do
    if listening "$p"; then
      if grep -qx "$p" "$STATE/started" 2>/dev/null; then
        shutdown_port "$p"
      else
        log "port $p is taken by a process this script did not start: set REDIS_CLUSTER_PORTS or REDIS_CLUSTER_URLS"
        return 1
      fi
    fi
    # shellcheck disable=SC2046 # the node arguments are words on purpose
    launch "$p" $(cluster_node_args "$p") || return 1
  done
  form_cluster "${ports[@]}"
}

# A cluster on free ports, retried on other ports when a start fails; echoes the ports.
cluster_on_free_ports() {
  local saved p ok
  read -r -a saved <<<"$(cat "$STATE/cluster-ports" 2>/dev/null || true)"
  if [[ ${#saved[@]} -eq 3 ]]; then
    ok=1
    for p in "${saved[@]}"; do ours "$p" && cluster_ok "$p" || ok=0; done
    if [[ $ok == 1 ]]; then
      log "reusing the healthy cluster on ports ${saved[*]}"
      echo "${saved[*]}"
      return 0
    fi
    for p in "${saved[@]}"; do
      if ours "$p"; then shutdown_port "$p"; fi
    done
    rm -f "$STATE/cluster-ports"
  fi
  for _ in $(seq 1 "$ATTEMPTS"); do
    local ports=() failed=0
    for _ in 1 2 3; do
      p=$(pick_port "${ports[@]}") || return 1
      # shellcheck disable=SC2046 # the node arguments are words on purpose
      if launch "$p" $(cluster_node_args "$p"); then ports+=("$p"); else failed=1; break; fi
    done
    if [[ $failed == 0 ]] && form_cluster "${ports[@]}"; then
      echo "${ports[*]}" >"$STATE/cluster-ports"
      echo "${ports[*]}"
      return 0
    fi
    for p in "${ports[@]}"; do shutdown_port "$p"; done
    log "retrying the cluster on other ports"
  done
  log "could not start a cluster in $ATTEMPTS attempts"
  return 1
}

start() {
  ensure_installed
  mkdir -p "$STATE"
  local url cluster ports
  url=$(start_standalone) || return 1
  cluster=${REDIS_CLUSTER_URLS:-}
  if [[ -z $cluster ]]; then
    if [[ -n ${REDIS_CLUSTER_PORTS:-} ]]; then
      read -r -a ports <<<"$REDIS_CLUSTER_PORTS"
      cluster_on_fixed_ports "${ports[@]}" || return 1
    else
      local picked
      picked=$(cluster_on_free_ports) || return 1
      read -r -a ports <<<"$picked"
    fi
    cluster=$(printf 'redis://127.0.0.1:%s,' "${ports[@]}"); cluster=${cluster%,}
  fi
  echo "export REDIS_URL=$url"
  echo "export REDIS_CLUSTER_URLS=$cluster"
}

stop() {
  [[ -f $STATE/started ]] || return 0
  local port
  for port in $(sort -u "$STATE/started"); do
    if ours "$port"; then shutdown_port "$port"; fi
  done
  rm -f "$STATE/started" "$STATE/cluster-ports" "$STATE/standalone-port"
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
