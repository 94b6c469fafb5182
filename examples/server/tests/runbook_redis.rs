//! The same runbook cases on the Redis store (`REDIS_URL`, as exported by
//! `scripts/redis-env.sh`). Without Redis the cases skip with a message, except in CI where
//! they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[macro_use]
mod cases;
mod common;

fn redis_store() -> Option<String> {
    common::backend_url("REDIS_URL", "redis")
}

runbook_suite!(redis_store());
