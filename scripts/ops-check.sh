#!/usr/bin/env bash
# Checks the deployment files of deploy/ and the Dockerfile (run by scripts/test.sh):
#   - deploy/prometheus/alerts.yml: `promtool check rules`, then `promtool test rules` on
#     alerts.test.yml (each rule fires on its failure and stays quiet on a healthy instance);
#   - deploy/grafana/quota.json: parses as JSON, every panel has a query (the metric names it
#     uses are checked against a live /metrics by quota-server's tests/ops.rs);
#   - deploy/systemd/quota.service: `systemd-analyze verify`, any warning an error (on a copy
#     whose ExecStart is /bin/true: the verifier wants the binary installed);
#   - Dockerfile: multi-stage, a non-root USER, `quota serve` as entrypoint (hadolint is not
#     packaged by Debian; the guide says what to check by hand).
#   bash scripts/ops-check.sh
# Installs promtool (Debian `prometheus`), systemd-analyze (`systemd`) and python3 when
# missing; in CI a tool that cannot be had fails the script, elsewhere it is a recorded skip.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ci.sh
source scripts/lib/ci.sh

failed=0
fail() {
  echo "ops-check: FAILED: $*" >&2
  failed=1
}

updated=false
need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ops-check: installing $2 (for $1) from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    if [ "$updated" = false ]; then
      apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
      updated=true
    fi
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$2" >&2 || true
  fi
  command -v "$1" >/dev/null 2>&1 && return 0
  # In CI quota_record_skip refuses the skip: the check fails.
  quota_record_skip "ops-check $1" "$1 is not installed and could not be (Debian package $2)" \
    || fail "$1 is missing"
  return 1
}

echo "==> Prometheus rules"
if need promtool prometheus; then
  promtool check rules deploy/prometheus/alerts.yml || fail "promtool check rules"
  promtool test rules deploy/prometheus/alerts.test.yml || fail "promtool test rules"
fi

echo "==> Grafana dashboard"
if need python3 python3; then
  python3 - deploy/grafana/quota.json <<'PY' || fail "deploy/grafana/quota.json"
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
panels = d["panels"]
assert panels, "no panel"
for p in panels:
    exprs = [t.get("expr", "") for t in p.get("targets", [])]
    assert exprs and all("quota_" in e for e in exprs), f"panel {p.get('title')!r}: {exprs}"
print(f"  {len(panels)} panels, uid {d['uid']}")
PY
fi

echo "==> systemd unit"
if need systemd-analyze systemd; then
  tmp=$(mktemp -d)
  sed 's#^ExecStart=/usr/local/bin/quota #ExecStart=/bin/true #' deploy/systemd/quota.service \
    >"$tmp/quota.service"
  if ! out=$(systemd-analyze verify "$tmp/quota.service" 2>&1) || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    fail "systemd-analyze verify deploy/systemd/quota.service"
  else
    echo "  systemd-analyze verify: no warning"
  fi
  rm -rf "$tmp"
fi

echo "==> Dockerfile"
froms=$(grep -cE '^FROM ' Dockerfile || true)
[ "$froms" -ge 2 ] || fail "Dockerfile: not multi-stage ($froms FROM)"
user=$(grep -E '^USER ' Dockerfile | tail -1 | awk '{print $2}')
case "${user%%:*}" in
  '' | root | 0) fail "Dockerfile: the last USER is '${user:-none}', not a non-root user" ;;
esac
grep -qE '^ENTRYPOINT \["/usr/local/bin/quota", "serve"\]' Dockerfile \
  || fail "Dockerfile: ENTRYPOINT is not quota serve"
grep -qE '^COPY --from=build ' Dockerfile || fail "Dockerfile: no binary copied from the build stage"
[ "$failed" = 0 ] && echo "  multi-stage, USER $user, ENTRYPOINT quota serve"

exit "$failed"
