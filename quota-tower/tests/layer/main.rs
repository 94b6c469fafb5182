//! The layer on an axum `Router`, driven in-process with `oneshot` (no sockets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod answers;
mod brands;
mod burst;
mod common;
mod failures;
mod refund;
mod service;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::{HeaderName, Method, StatusCode};
use quota_core::{MemoryStore, QuotaGuard, Store};
use quota_tower::{
    Brand, Cost, ExhaustedStatus, QuotaLayer, QuotaService, RequestHead, RouteTable,
};

use common::*;

fn brand_header() -> HeaderName {
    HeaderName::from_static("x-brand-id")
}

fn routes() -> RouteTable {
    RouteTable::new()
        .route(Some(Method::POST), "/renders", Cost::one("renders_2d"))
        .route(Some(Method::POST), "/designs", Cost::one("ai_generations"))
        .route(Some(Method::GET), "/quota", Cost::new("renders_2d", 0))
        .route(Some(Method::POST), "/seats", Cost::one("team_members"))
        .route(Some(Method::POST), "/fail", Cost::new("renders_2d", 2))
        .route(
            Some(Method::POST),
            "/bulk",
            Cost::new("renders_2d", 1_000_000_001),
        )
}

fn layer<St: Store + ?Sized + 'static>(guard: QuotaGuard<St>) -> QuotaLayer<St> {
    QuotaLayer::new(guard)
        .brand_from_header(brand_header())
        .routes(routes())
        .upgrade_url("https://billing.example/upgrade")
        .topup_url("https://billing.example/topup")
}

async fn setup() -> (Router, Calls, QuotaGuard<TestStore>, Arc<TestStore>) {
    let (guard, store) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard.clone()));
    (app, calls, guard, store)
}
