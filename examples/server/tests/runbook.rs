//! The runbook walked over HTTP against a server started in-process on a free port, on the
//! in-memory store.
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

runbook_suite!(common::memory);
