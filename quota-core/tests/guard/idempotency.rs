//! Idempotency keys: a keyed consume counts once and its replay says so.

use std::sync::Arc;

use chrono::Utc;
use quota_core::{Catalog, MemoryStore, QuotaError, QuotaGuard, Subscription};

use crate::common::{B, fixture};

#[tokio::test]
async fn idempotent_consume_counts_once_and_says_replayed() {
    let f = fixture("free").await;
    let a = f
        .guard
        .consume(B, "renders_2d", 2, Some("req-1"))
        .await
        .unwrap();
    let b = f
        .guard
        .consume(B, "renders_2d", 2, Some("req-1"))
        .await
        .unwrap();
    assert!(!a.replayed && b.replayed);
    assert_eq!((a.used, b.used), (2, 2));
    assert_eq!(f.guard.check(B, "renders_2d", 0).await.unwrap().used, 2);
    let bad = f
        .guard
        .consume(B, "renders_2d", 1, Some(""))
        .await
        .unwrap_err();
    assert!(matches!(bad, QuotaError::InvalidArgument(_)));
    let long = "k".repeat(300);
    let too_long = f
        .guard
        .consume(B, "renders_2d", 1, Some(&long))
        .await
        .unwrap_err();
    assert!(
        matches!(&too_long, QuotaError::InvalidArgument(m) if m.starts_with("idempotency key must be 1 to")),
        "{too_long}"
    );
    assert_eq!(f.guard.check(B, "renders_2d", 0).await.unwrap().used, 2);
}

#[tokio::test]
async fn a_default_memory_store_remembers_idempotency_keys() {
    let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::default()));
    guard
        .subscribe(Subscription::new(B, "free", Utc::now()))
        .await
        .unwrap();
    guard.consume(B, "renders_2d", 1, Some("k")).await.unwrap();
    let replay = guard.consume(B, "renders_2d", 1, Some("k")).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.used, 1);
    assert!(replay.period_start.unwrap() < replay.resets_at.unwrap());
}
