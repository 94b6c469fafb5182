#!/usr/bin/env bash
# The Playwright suite "Usage quota overview" (runbook section 4) against the QA server:
# provisions Chromium, Node.js and the suite's packages (scripts/e2e-env.sh), builds the
# `quota` binary, then runs the suite. Its fixtures start `quota serve` on loopback (one server
# per worker, and one per test for the tests that move the dev clock or change the demo brand),
# on a port the server reports in its start banner.
#   bash scripts/e2e.sh [extra playwright args]
#   UPDATE_SCREENSHOTS=1 bash scripts/e2e.sh        # also rewrites docs/screenshots/*.png
#   QUOTA_E2E_ORDER=reverse|shuffle:<seed> bash scripts/e2e.sh --workers=2
#                                                   # another order, two workers: the tests
#                                                   # must not depend on each other
# A normal run never writes under docs/: the screenshots are checked and attached to the
# report (examples/server/e2e/test-results) only.
# In CI (CI=true or 1, see scripts/lib/ci.sh) a missing browser fails the run; elsewhere it
# prints why and records the skip in $QUOTA_SKIP_LOG (scripts/test.sh counts it).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# shellcheck source=lib/ci.sh
source scripts/lib/ci.sh

rc=0
reason_file=$(mktemp)
trap 'rm -f "$reason_file"' EXIT
env_out=$(E2E_SKIP_REASON=$reason_file bash scripts/e2e-env.sh) || rc=$?
if [ "$rc" = 3 ] && ! quota_in_ci; then
  quota_record_skip "e2e::usage_quota_overview" "$(cat "$reason_file")"
  exit 0
elif [ "$rc" != 0 ]; then
  echo "e2e: provisioning failed (exit $rc)" >&2
  exit 1
fi
eval "$env_out"

cargo build --locked -p quota-server --bin quota >&2
export QUOTA_BIN="$CARGO_TARGET_DIR/debug/quota"

trap - EXIT
rm -f "$reason_file"
cd examples/server/e2e
exec npx --no-install playwright test --grep "Usage quota overview" "$@"
