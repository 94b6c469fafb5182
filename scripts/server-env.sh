#!/usr/bin/env bash
# Makes sure the Prometheus text parser of quota-server's /metrics test is available
# (tests/cli.rs: Python's prometheus_client parser reads every family; `promtool check
# metrics` lints as well when scripts/ops-check.sh installed promtool).
#   bash scripts/server-env.sh
# Installs Debian's python3-prometheus-client (small) when no python3 has it.
set -euo pipefail
has_parser() {
  for py in python3 /usr/bin/python3; do
    "$py" -c 'import prometheus_client.parser' >/dev/null 2>&1 && return 0
  done
  return 1
}
if has_parser; then exit 0; fi
echo "server-env: installing python3-prometheus-client from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-prometheus-client >&2
has_parser
