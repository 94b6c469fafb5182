#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy (warnings are errors) and all
# tests, then the Playwright browser suite (scripts/e2e.sh). Starts — and on a fresh Debian
# machine installs — the services and tools the tests need (Redis standalone + cluster,
# Postgres, Chromium and Node.js) through the scripts/*-env.sh helpers.
# In CI (CI=true) a test that cannot reach its service fails; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# No incremental caches: they only grow the shared target dir, and a test run gains little.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

step() { printf '\n==> %s\n' "$*"; }

step "services: Redis (standalone + 3-master cluster)"
# shellcheck source=/dev/null
source scripts/redis-env.sh
step "services: Postgres"
eval "$(bash scripts/pg-env.sh)"
step "tools: a Prometheus text parser (for the /metrics test)"
bash scripts/server-env.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "browser suite: Playwright \"Usage quota overview\" (Debian Chromium, FR + EN)"
bash scripts/e2e.sh

step "load scenarios (smoke: memory store, 5 s each, runbook thresholds)"
bash scripts/load-smoke.sh
