//! Behaviour of `QuotaGuard` over the in-memory store, on a fake clock: one file per concept,
//! each test a sentence of the specification.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

mod alerts;
mod concurrency;
mod idempotency;
mod limits;
mod periods;
mod snapshot;
mod topups_and_plans;
