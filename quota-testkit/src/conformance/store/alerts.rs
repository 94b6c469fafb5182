//! Alert claims (exactly once between instances) and the timeline's order.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use quota_core::Store;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::CounterKey;

use super::event;
use crate::conformance::{NEXT_PERIOD, PERIOD, now, unique_brand};

/// 16 concurrent claimers of one alert: exactly one wins; release is also exactly once.
pub async fn alert_claims_exactly_once(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("claim"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            store
                .claim_alert(CounterKey::new(&brand, "m", PERIOD), 90)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let key = CounterKey::new(&brand, "m", PERIOD);
    assert!(store.claim_alert(key, 50).await.unwrap());
    assert!(store.claim_alert(key, 0).await.unwrap());
    assert_eq!(store.claimed_alerts(key).await.unwrap(), vec![0, 50, 90]);
    assert!(store.release_alert(key, 90).await.unwrap());
    assert!(!store.release_alert(key, 90).await.unwrap());
    assert!(
        store.claim_alert(key, 90).await.unwrap(),
        "a released alert can fire again"
    );
    let other = CounterKey::new(&brand, "m", NEXT_PERIOD);
    assert!(store.claimed_alerts(other).await.unwrap().is_empty());
}

/// The timeline reads newest first, limited, per brand, in a total order: by time, then by
/// the sequence number the store gives each append (increasing per brand), whatever the
/// order and the precision of the times written.
pub async fn timeline_order(store: Arc<dyn Store>) {
    let brand = unique_brand("tl");
    let mut seqs = Vec::new();
    for n in 0..5 {
        seqs.push(store.append_event(&event(&brand, n)).await.unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let got = store.events(&brand, 3).await.unwrap();
    let want: Vec<TimelineEvent> = [4, 3, 2]
        .into_iter()
        .map(|n| event(&brand, n).with_seq(seqs[usize::try_from(n).unwrap()]))
        .collect();
    assert_eq!(got, want);
    assert_eq!(store.events(&brand, 100).await.unwrap().len(), 5);

    // Same instant (to the microsecond), and a time earlier than the newest: the store's
    // sequence decides between equal times, the time decides otherwise.
    let tied = unique_brand("tl-tie");
    let at = now() + Duration::microseconds(171_999);
    let stamp = |n: u64, at: DateTime<Utc>| {
        let mut e = event(&tied, 0);
        e.at = at;
        e.kind = EventKind::TopUpCompleted {
            topup_id: format!("t{n}"),
            units: n,
        };
        e
    };
    let a = store.append_event(&stamp(1, at)).await.unwrap();
    let b = store.append_event(&stamp(2, at)).await.unwrap();
    let early = at - Duration::microseconds(1);
    let c = store.append_event(&stamp(3, early)).await.unwrap();
    let late = at + Duration::microseconds(1);
    let d = store.append_event(&stamp(4, late)).await.unwrap();
    let got = store.events(&tied, 10).await.unwrap();
    assert_eq!(
        got,
        vec![
            stamp(4, late).with_seq(d),
            stamp(2, at).with_seq(b),
            stamp(1, at).with_seq(a),
            stamp(3, early).with_seq(c),
        ],
        "newest first by (time, sequence), times kept to the microsecond"
    );
    assert_eq!(store.events(&tied, 2).await.unwrap(), got[..2].to_vec());
    assert!(
        store
            .events(&unique_brand("tl-none"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
