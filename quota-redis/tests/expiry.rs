//! Keys of a period expire after the period ends plus the retention grace; idempotency keys
//! after their TTL; the timeline, gauges and top-ups never. Read with `PEXPIRETIME` (the
//! absolute expiry, so no test depends on how long a call took), on a standalone Redis and on
//! the cluster.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;
mod raw;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use common::Backend;
use quota_core::period::PeriodKey;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{ConsumeRequest, CounterKey, CounterReset};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{AlertStore, TopUpStore, UsageStore};

const DAY_MS: i64 = 86_400_000;

/// The key's absolute expiry in Unix ms (-1: none, -2: no such key).
async fn expires(conn: &mut raw::Raw, key: &str) -> i64 {
    redis::cmd("PEXPIRETIME")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Runs `f`, returning its result and the wall clock (Unix ms) just before and just after:
/// an expiry the store derives from "now" lies within them (client and servers share one
/// clock here).
async fn bracketed<T>(f: impl Future<Output = T>) -> (T, i64, i64) {
    let before = now_ms();
    let out = f.await;
    (out, before, now_ms())
}

async fn period_keys_expire_after_the_period_end_plus_grace(backend: Backend) {
    let grace = Duration::from_secs(3 * 24 * 3600);
    let grace_ms = 3 * DAY_MS;
    let opts = common::options()
        .set_retention_grace(grace)
        .set_idempotency_ttl(Duration::from_secs(3600))
        .set_key_prefix("qx");
    let Some(store) = common::store_with(backend, opts).await else {
        return;
    };
    let mut raw = raw::connect(backend).await;
    let brand = common::brand("expiry");
    let key = |suffix: &str| format!("qx:{{{brand}}}:{suffix}");
    let now = Utc::now();
    // Far enough ahead that the grace floor does not apply.
    let retain = (now + chrono::Duration::days(40)).trunc_subsecs(3);
    let period = PeriodKey(20261101);
    let req = ConsumeRequest {
        key: CounterKey::new(&brand, "m", period),
        quantity: 2,
        ceiling: None,
        free_units: None,
        idempotency_key: Some("k"),
        fingerprint: quota_core::store::fingerprint("m", 2, ""),
        day: 3,
        at_us: now.timestamp_micros(),
        retain_until: retain,
    };
    let (out, before, after) = bracketed(store.consume(&req)).await;
    assert!(out.unwrap().admitted);
    let retain_ms = retain.timestamp_millis();
    assert_eq!(expires(&mut raw, &key("c:m:20261101")).await, retain_ms);
    assert_eq!(expires(&mut raw, &key("m:20261101")).await, retain_ms);
    let idem = expires(&mut raw, &key("i:k")).await;
    assert!(
        (before + 3_600_000..=after + 3_600_000).contains(&idem),
        "{idem} not within [{before}, {after}] + 1 h"
    );

    // A write to a period that ended long ago still lives one grace from now.
    let mut old = req;
    old.key.period = PeriodKey(20200101);
    old.idempotency_key = None;
    old.retain_until = Utc.with_ymd_and_hms(2020, 2, 8, 0, 0, 0).unwrap();
    let (out, before, after) = bracketed(store.consume(&old)).await;
    assert!(out.unwrap().admitted);
    let floor = expires(&mut raw, &key("c:m:20200101")).await;
    assert!(
        (before + grace_ms..=after + grace_ms).contains(&floor),
        "{floor} not within [{before}, {after}] + grace"
    );
    assert_eq!(store.usage(old.key).await.unwrap().used, 2);

    // Claims and top-up units know only the period start: start + 31 days + grace, or one
    // grace from now if that is later.
    let start_ms = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    let by_period = |before: i64, after: i64| {
        let end = start_ms + 31 * DAY_MS + grace_ms;
        end.max(before + grace_ms)..=end.max(after + grace_ms)
    };
    let (claimed, before, after) =
        bracketed(store.claim_alert(CounterKey::new(&brand, "m", period), 50)).await;
    assert!(claimed.unwrap());
    let claim = expires(&mut raw, &key("a:m:20261101")).await;
    assert!(by_period(before, after).contains(&claim), "{claim}");

    let at = Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap();
    let id = format!("{brand}-t");
    store
        .insert_topup(&UsageTopUp::pending(
            &id,
            &brand,
            "fresh",
            5,
            period,
            at,
            at + chrono::Duration::days(20),
        ))
        .await
        .unwrap();
    let (done, before, after) =
        bracketed(store.set_topup_status(&id, TopUpStatus::Completed, at)).await;
    assert!(done.unwrap().changed);
    let counter = expires(&mut raw, &key("c:fresh:20261101")).await;
    assert!(by_period(before, after).contains(&counter), "{counter}");

    // A support reset sets the counter's expiry from its own `retain_until`.
    let later = retain + chrono::Duration::days(1);
    let reset = CounterReset::new(CounterKey::new(&brand, "other", period), 4, 2, later);
    store.reset_counter(&reset).await.unwrap();
    assert_eq!(
        expires(&mut raw, &key("c:other:20261101")).await,
        later.timestamp_millis()
    );

    // Gauges, top-ups and the timeline do not expire.
    store.set_gauge(&brand, "seats", 3).await.unwrap();
    store.append_event(&event(&brand, at)).await.unwrap();
    for k in ["g", &format!("tu:{id}"), "tul", "e", "es"] {
        assert_eq!(expires(&mut raw, &key(k)).await, -1, "{k}");
    }
}

fn event(brand: &str, at: DateTime<Utc>) -> TimelineEvent {
    TimelineEvent::new(
        brand,
        at,
        PeriodKey(20261101),
        Some("m".into()),
        Severity::Info,
        EventKind::PeriodReset {
            reason: "test".into(),
            level: None,
        },
    )
}

#[tokio::test]
async fn period_keys_expire_after_the_period_end_plus_grace_standalone() {
    period_keys_expire_after_the_period_end_plus_grace(Backend::Standalone).await;
}

#[tokio::test]
async fn period_keys_expire_after_the_period_end_plus_grace_cluster() {
    period_keys_expire_after_the_period_end_plus_grace(Backend::Cluster).await;
}
