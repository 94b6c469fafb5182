//! `RedisStore` against the reference semantics of `quota_core::MemoryStore`, on a standalone
//! Redis and on a 3-master Redis Cluster.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    missing_docs
)]

mod common;
mod raw;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::Backend;
use quota_core::domain::MAX_UNITS;
use quota_core::period::PeriodKey;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, Usage, fingerprint,
};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{
    AlertStore, MemoryStore, StoreError, Subscription, SubscriptionStore, TopUpStore, UsageStore,
};
use quota_redis::RedisStore;
use redis::AsyncCommands;

const P: PeriodKey = PeriodKey(20261101);
const P2: PeriodKey = PeriodKey(20261201);
/// The fingerprint of every keyed request below that does not set its own.
const FP: u64 = 42;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap()
}

fn req<'a>(
    brand: &'a str,
    metric: &'a str,
    quantity: u64,
    ceiling: Option<u64>,
    idem: Option<&'a str>,
) -> ConsumeRequest<'a> {
    ConsumeRequest {
        key: CounterKey::new(brand, metric, P),
        quantity,
        ceiling,
        free_units: None,
        idempotency_key: idem,
        fingerprint: FP,
        day: 9,
        at_us: t0().timestamp_micros(),
        retain_until: Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap(),
    }
}

/// An admitted or denied outcome without overage.
fn plain(admitted: bool, used: u64, topup: u64) -> ConsumeOutcome {
    ConsumeOutcome::new(admitted, used, topup, 0, 0)
}

/// The kind of a store error, to compare two stores' refusals.
fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Timeout(_) => "timeout",
        StoreError::NotFound(_) => "not found",
        StoreError::Conflict(_) => "conflict",
        StoreError::OutOfRange(_) => "out of range",
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Backend { .. } => "backend",
        _ => "other",
    }
}

/// Two stores' answers agree: the same value, or errors of the same kind.
fn same<T: PartialEq + std::fmt::Debug>(
    got: Result<T, StoreError>,
    want: Result<T, StoreError>,
    ctx: &str,
) {
    match (got, want) {
        (Ok(g), Ok(w)) => assert_eq!(g, w, "{ctx}"),
        (Err(g), Err(w)) => assert_eq!(kind(&g), kind(&w), "{ctx}: {g} vs {w}"),
        (g, w) => panic!("{ctx}: redis {g:?}, memory {w:?}"),
    }
}

fn event(brand: &str, i: u64) -> TimelineEvent {
    TimelineEvent::new(
        brand,
        t0() + Duration::minutes(i as i64),
        P,
        Some("m".into()),
        Severity::Info,
        EventKind::ThresholdCrossed {
            threshold: 50,
            used: i,
            limit: 100,
        },
    )
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod standalone {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = crate::common::store(crate::Backend::Standalone).await {
                        super::$name(store, crate::Backend::Standalone).await;
                    }
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = crate::common::store(crate::Backend::Cluster).await {
                        super::$name(store, crate::Backend::Cluster).await;
                    }
                }
            )*
        }
    };
}

// After the macro: the cases use it.
mod behaviour;
