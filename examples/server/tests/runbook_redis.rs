//! The same runbook cases on the Redis store (`REDIS_URL`, as exported by
//! `scripts/redis-env.sh`, else 127.0.0.1:6379), each case under a key prefix of its own.
//! Without Redis each case records a skip (`quota_testkit::skip`), which fails in CI.
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

runbook_suite!(common::redis);
