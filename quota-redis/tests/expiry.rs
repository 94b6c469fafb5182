//! Keys of a period expire after the period ends plus the retention grace; idempotency keys
//! after their TTL. Checked on the standalone server with raw commands.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::Backend;
use quota_core::PeriodKey;
use quota_core::store::{AlertStore, ConsumeRequest, CounterKey, UsageStore};

async fn pttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

#[tokio::test]
async fn period_keys_expire_after_the_period_end_plus_grace() {
    let grace = Duration::from_secs(3 * 24 * 3600);
    let opts = common::options()
        .set_retention_grace(grace)
        .set_idempotency_ttl(Duration::from_secs(3600))
        .set_key_prefix("qx");
    let Some(store) = common::store_with(Backend::Standalone, opts).await else {
        return;
    };
    let url = common::urls(Backend::Standalone).remove(0);
    let mut raw = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let brand = common::brand("expiry");
    let now = Utc::now();
    let retain = now + chrono::Duration::days(40);
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
    store.consume(&req).await.unwrap();
    let day_ms = 86_400_000;
    let counter = pttl(&mut raw, &format!("qx:{{{brand}}}:c:m:20261101")).await;
    assert!((39 * day_ms..=40 * day_ms).contains(&counter), "{counter}");
    let metrics = pttl(&mut raw, &format!("qx:{{{brand}}}:m:20261101")).await;
    assert!((39 * day_ms..=40 * day_ms).contains(&metrics), "{metrics}");
    let idem = pttl(&mut raw, &format!("qx:{{{brand}}}:i:k")).await;
    assert!((3_500_000..=3_600_000).contains(&idem), "{idem}");

    // A write to a period that ended long ago still lives one grace from now.
    let mut old = req;
    old.key.period = PeriodKey(20200101);
    old.idempotency_key = None;
    old.retain_until = Utc.with_ymd_and_hms(2020, 2, 8, 0, 0, 0).unwrap();
    store.consume(&old).await.unwrap();
    let floor = pttl(&mut raw, &format!("qx:{{{brand}}}:c:m:20200101")).await;
    assert!((2 * day_ms..=3 * day_ms).contains(&floor), "{floor}");
    assert_eq!(store.usage(old.key).await.unwrap().used, 2);

    // Claims know only the period start: start + 31 days + grace (or one grace from now).
    store
        .claim_alert(CounterKey::new(&brand, "m", period), 50)
        .await
        .unwrap();
    let claim = pttl(&mut raw, &format!("qx:{{{brand}}}:a:m:20261101")).await;
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let expected = (start + chrono::Duration::days(34) - now)
        .num_milliseconds()
        .max(3 * day_ms);
    assert!(
        (expected - 60_000..=expected).contains(&claim),
        "{claim} vs {expected}"
    );
}
