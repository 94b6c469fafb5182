//! The cockpit pages over HTTP, on the in-memory store: login and the admin cookie, every
//! element of the contract in French and English, the runbook's cases as the cockpit shows
//! them (92 % under strain, blocked gauge, top-up with its toast and history, share link,
//! month-end reset), escaping, cross-origin refusals and the monitoring page. One module per
//! page or concept; the helpers are in tests/common.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "../common/mod.rs"]
mod common;

mod access;
mod cockpit;
mod escaping;
mod monitoring;
mod session;
mod share;
mod topup;

/// Every page test runs on the in-memory store.
const STORE: &str = "memory";
