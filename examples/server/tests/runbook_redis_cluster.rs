//! The same runbook cases on a 3-master Redis Cluster (`REDIS_CLUSTER_URLS`, as exported by
//! `scripts/redis-env.sh`), each case under a key prefix of its own. Without the cluster each
//! case records a skip (`quota_testkit::skip`), which fails in CI.
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

runbook_suite!(common::redis_cluster);
