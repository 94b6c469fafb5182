//! The same runbook cases on the Postgres store (the server of `DATABASE_URL`, as exported
//! by `scripts/pg-env.sh`, else 127.0.0.1:5432), each case in a database of its own.
//! Without Postgres each case records a skip (`quota_testkit::skip`), which fails in CI.
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

runbook_suite!(common::postgres);
