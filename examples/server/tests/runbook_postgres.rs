//! The same runbook cases on the Postgres store (`DATABASE_URL`, as exported by
//! `scripts/pg-env.sh`). Without Postgres the cases skip with a message, except in CI where
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

fn postgres_store() -> Option<String> {
    common::backend_url("DATABASE_URL", "pg")
}

runbook_suite!(postgres_store());
