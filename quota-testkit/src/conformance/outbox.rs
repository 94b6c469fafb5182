//! The cases of the alert outbox contract ([`OutboxStore`]): one public
//! `async fn(Arc<dyn OutboxStore>)` per case, and
//! [`outbox_conformance_tests!`](crate::outbox_conformance_tests), which runs them all.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use quota_core::outbox::{ClaimRequest, ClaimedMessage, OutboxMessage, OutboxStatus, OutboxStore};

use super::{now, unique_brand};

const LEASE: StdDuration = StdDuration::from_secs(30);

fn message(id: &str, sink: &str, due_at: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage::new(id, sink, serde_json::json!({ "id": id, "n": 1 }), due_at)
}

async fn claim(
    store: &Arc<dyn OutboxStore>,
    sink: &str,
    at: DateTime<Utc>,
    limit: usize,
) -> Vec<ClaimedMessage> {
    store
        .claim_due(&ClaimRequest::new(&[sink], at, LEASE, limit))
        .await
        .unwrap()
}

fn ids(claimed: &[ClaimedMessage]) -> Vec<String> {
    claimed.iter().map(|c| c.message.id.clone()).collect()
}

/// Enqueueing the same id twice keeps the first message; it is claimed once.
pub async fn outbox_enqueue_is_idempotent_by_id(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-idem");
    let id = format!("{sink}-1");
    assert!(store.enqueue(&message(&id, &sink, now())).await.unwrap());
    let mut other = message(&id, &sink, now() - Duration::hours(1));
    other.payload = serde_json::json!({ "other": true });
    assert!(
        !store.enqueue(&other).await.unwrap(),
        "a second enqueue of the same id is a duplicate"
    );
    let rec = store.outbox_record(&id).await.unwrap().unwrap();
    assert_eq!(
        rec.message,
        message(&id, &sink, now()),
        "the first one stays"
    );
    assert_eq!(rec.status, OutboxStatus::Pending);
    assert_eq!(rec.attempts, 0);
    assert_eq!(rec.leased_until, None);
    assert_eq!(rec.last_error, None);
    let claimed = claim(&store, &sink, now(), 10).await;
    assert_eq!(ids(&claimed), vec![id.clone()]);
    assert_eq!(claimed[0].attempt, 1);
    assert_eq!(
        claimed[0].message.payload,
        serde_json::json!({ "id": id, "n": 1 })
    );
    assert!(store.outbox_record("ob-none").await.unwrap().is_none());
}

/// Claims honour due times, sinks and the limit, oldest due first.
pub async fn outbox_claims_due_messages_oldest_first(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-order");
    let other_sink = unique_brand("ob-order-other");
    for (i, minutes) in [(1, 3), (2, 1), (3, 2), (4, -5)] {
        let m = message(
            &format!("{sink}-{i}"),
            &sink,
            now() + Duration::minutes(minutes),
        );
        assert!(store.enqueue(&m).await.unwrap());
    }
    assert!(
        store
            .enqueue(&message(&format!("{other_sink}-1"), &other_sink, now()))
            .await
            .unwrap()
    );
    assert_eq!(
        ids(&claim(&store, &sink, now(), 10).await),
        vec![format!("{sink}-4")]
    );
    assert!(store.ack(&format!("{sink}-4")).await.unwrap());
    let at = now() + Duration::minutes(3);
    assert_eq!(
        ids(&claim(&store, &sink, at, 2).await),
        vec![format!("{sink}-2"), format!("{sink}-3")],
        "oldest due first, at most `limit`"
    );
    assert_eq!(
        ids(&claim(&store, &sink, at, 10).await),
        vec![format!("{sink}-1")]
    );
    assert!(claim(&store, &sink, at, 10).await.is_empty());
    let both = store
        .claim_due(&ClaimRequest::new(
            &[other_sink.as_str(), sink.as_str()],
            at,
            LEASE,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(
        ids(&both),
        vec![format!("{other_sink}-1")],
        "only the sinks asked for"
    );
    assert_eq!(both[0].leased_until, at + Duration::seconds(30));
}

/// 8 concurrent claimers over 60 messages: every message is claimed exactly once.
pub async fn outbox_concurrent_claimers_get_each_message_once(store: Arc<dyn OutboxStore>) {
    let sink = Arc::new(unique_brand("ob-conc"));
    for i in 0..60 {
        let m = message(&format!("{sink}-{i:02}"), &sink, now());
        assert!(store.enqueue(&m).await.unwrap());
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let sink = Arc::clone(&sink);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_due(&ClaimRequest::new(&[sink.as_str()], now(), LEASE, 3))
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got);
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), 60, "each message claimed once in total");
    let unique: HashSet<String> = all.iter().map(|c| c.message.id.clone()).collect();
    assert_eq!(unique.len(), 60, "no message claimed twice");
    assert!(all.iter().all(|c| c.attempt == 1));
}

/// A claimed message is invisible until its lease ends, then claimable again with one
/// more attempt; the expired lease can no longer reschedule it.
pub async fn outbox_lease_expiry_makes_it_claimable_again(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-lease");
    let id = format!("{sink}-1");
    store.enqueue(&message(&id, &sink, now())).await.unwrap();
    let first = claim(&store, &sink, now(), 10).await;
    assert_eq!(ids(&first), vec![id.clone()]);
    let rec = store.outbox_record(&id).await.unwrap().unwrap();
    assert_eq!(rec.attempts, 1);
    assert_eq!(rec.leased_until, Some(now() + Duration::seconds(30)));
    assert!(
        claim(&store, &sink, now() + Duration::seconds(29), 10)
            .await
            .is_empty()
    );
    let second = claim(&store, &sink, now() + Duration::seconds(30), 10).await;
    assert_eq!(ids(&second), vec![id.clone()]);
    assert_eq!(second[0].attempt, 2);
    let late = now() + Duration::hours(1);
    assert!(
        !store
            .reschedule(&first[0].lease(), late, "stale")
            .await
            .unwrap(),
        "a lost lease cannot reschedule"
    );
    assert!(!store.dead_letter(&first[0].lease(), "stale").await.unwrap());
    let rec = store.outbox_record(&id).await.unwrap().unwrap();
    assert_eq!(rec.status, OutboxStatus::Pending);
    assert_eq!(rec.message.due_at, now());
    assert_eq!(rec.last_error, None);
    assert!(
        store
            .reschedule(&second[0].lease(), late, "boom")
            .await
            .unwrap()
    );
}

/// Ack marks the message delivered: never claimed again, a re-enqueue is a duplicate.
pub async fn outbox_ack_removes_it(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-ack");
    let id = format!("{sink}-1");
    store.enqueue(&message(&id, &sink, now())).await.unwrap();
    let claimed = claim(&store, &sink, now(), 10).await;
    assert_eq!(claimed.len(), 1);
    assert!(store.ack(&id).await.unwrap());
    assert!(!store.ack(&id).await.unwrap(), "the second ack is a no-op");
    assert!(!store.ack("ob-absent").await.unwrap());
    assert!(
        claim(&store, &sink, now() + Duration::days(1), 10)
            .await
            .is_empty()
    );
    assert!(!store.enqueue(&message(&id, &sink, now())).await.unwrap());
    assert!(
        claim(&store, &sink, now() + Duration::days(1), 10)
            .await
            .is_empty()
    );
    let rec = store.outbox_record(&id).await.unwrap().unwrap();
    assert_eq!(rec.status, OutboxStatus::Delivered);
    assert_eq!(rec.attempts, 1);
    assert!(
        !store
            .reschedule(&claimed[0].lease(), now(), "late")
            .await
            .unwrap(),
        "a delivered message cannot be rescheduled"
    );
    let delivered = store
        .outbox_records(&sink, OutboxStatus::Delivered, 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert!(
        store
            .outbox_records(&sink, OutboxStatus::Pending, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Reschedule delays the message, keeps the attempt count and records the error.
pub async fn outbox_reschedule_delays_it(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-resched");
    let id = format!("{sink}-1");
    store.enqueue(&message(&id, &sink, now())).await.unwrap();
    let claimed = claim(&store, &sink, now(), 10).await;
    let due = now() + Duration::seconds(60);
    assert!(
        store
            .reschedule(&claimed[0].lease(), due, "503 from sink")
            .await
            .unwrap()
    );
    let rec = store.outbox_record(&id).await.unwrap().unwrap();
    assert_eq!(rec.status, OutboxStatus::Pending);
    assert_eq!(rec.attempts, 1, "reschedule keeps the attempt count");
    assert_eq!(rec.message.due_at, due);
    assert_eq!(rec.leased_until, None);
    assert_eq!(rec.last_error.as_deref(), Some("503 from sink"));
    assert!(
        claim(&store, &sink, now() + Duration::seconds(59), 10)
            .await
            .is_empty(),
        "not before its new due time, although the lease has ended"
    );
    let again = claim(&store, &sink, due, 10).await;
    assert_eq!(ids(&again), vec![id.clone()]);
    assert_eq!(again[0].attempt, 2);
    assert!(store.ack(&id).await.unwrap());
}

/// Dead letters are kept, listed and never claimed.
pub async fn outbox_dead_letters_are_kept_and_not_claimed(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-dead");
    let id = format!("{sink}-1");
    store.enqueue(&message(&id, &sink, now())).await.unwrap();
    let claimed = claim(&store, &sink, now(), 10).await;
    assert!(
        store
            .dead_letter(&claimed[0].lease(), "gave up")
            .await
            .unwrap()
    );
    assert!(
        !store
            .dead_letter(&claimed[0].lease(), "again")
            .await
            .unwrap()
    );
    assert!(
        claim(&store, &sink, now() + Duration::days(1), 10)
            .await
            .is_empty()
    );
    assert!(
        !store.ack(&id).await.unwrap(),
        "a dead message cannot be acked"
    );
    let dead = store
        .outbox_records(&sink, OutboxStatus::Dead, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, id);
    assert_eq!(dead[0].attempts, 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("gave up"));
    assert!(!store.enqueue(&message(&id, &sink, now())).await.unwrap());
}

/// Purge drops old delivered and dead messages and keeps pending ones. Runs in the year
/// 2000 so that it cannot touch other cases' messages.
pub async fn outbox_purge_keeps_pending(store: Arc<dyn OutboxStore>) {
    let sink = unique_brand("ob-purge");
    let t0 = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    for i in 1..=4 {
        store
            .enqueue(&message(&format!("{sink}-{i}"), &sink, t0))
            .await
            .unwrap();
    }
    let claimed = claim(&store, &sink, t0, 3).await;
    assert_eq!(claimed.len(), 3);
    assert!(store.ack(&claimed[0].message.id).await.unwrap());
    assert!(store.dead_letter(&claimed[1].lease(), "x").await.unwrap());
    let removed = store.purge_outbox(t0 + Duration::seconds(1)).await.unwrap();
    assert!(
        removed >= 2,
        "at least this case's two finished messages: {removed}"
    );
    assert!(
        store
            .outbox_record(&claimed[0].message.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .outbox_record(&claimed[1].message.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .outbox_record(&claimed[2].message.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .outbox_record(&format!("{sink}-4"))
            .await
            .unwrap()
            .is_some()
    );
}

/// Expands into one `#[tokio::test]` per outbox conformance case, inside a module named
/// `outbox_conformance`, for the store returned by the async function `$make`
/// (`async fn() -> Arc<dyn OutboxStore>`). The caller needs `tokio` with `macros` and
/// `rt-multi-thread`.
#[macro_export]
macro_rules! outbox_conformance_tests {
    ($make:path) => {
        mod outbox_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::outbox_conformance_tests!(@cases $make;
                outbox_enqueue_is_idempotent_by_id,
                outbox_claims_due_messages_oldest_first,
                outbox_concurrent_claimers_get_each_message_once,
                outbox_lease_expiry_makes_it_claimable_again,
                outbox_ack_removes_it,
                outbox_reschedule_delays_it,
                outbox_dead_letters_are_kept_and_not_claimed,
                outbox_purge_keeps_pending
            );
        }
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::conformance::outbox::$case($make().await).await;
            }
        )+
    };
}
