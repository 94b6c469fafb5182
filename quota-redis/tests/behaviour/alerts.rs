//! Alert claims and the timeline.

use crate::*;

on_both_backends!(
    an_alert_is_claimed_exactly_once_under_concurrency,
    the_timeline_reads_newest_first_with_sequence_numbers,
    concurrent_appends_get_distinct_increasing_sequence_numbers,
);

async fn an_alert_is_claimed_exactly_once_under_concurrency(s: RedisStore, _: Backend) {
    let b: Arc<str> = common::brand("claims").into();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (s, b) = (s.clone(), Arc::clone(&b));
        tasks.push(tokio::spawn(async move {
            s.claim_alert(CounterKey::new(&b, "m", P), 90)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    let k = CounterKey::new(&b, "m", P);
    assert!(s.claim_alert(k, 50).await.unwrap());
    assert!(s.claim_alert(k, 100).await.unwrap());
    assert_eq!(s.claimed_alerts(k).await.unwrap(), vec![50, 90, 100]);
    assert!(s.release_alert(k, 90).await.unwrap());
    assert!(!s.release_alert(k, 90).await.unwrap());
    assert!(
        s.claim_alert(k, 90).await.unwrap(),
        "claimable again after release"
    );
}

async fn the_timeline_reads_newest_first_with_sequence_numbers(s: RedisStore, _: Backend) {
    let b = common::brand("timeline");
    assert!(s.events(&b, 10).await.unwrap().is_empty());
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(s.append_event(&event(&b, i)).await.unwrap());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5], "a brand's sequence starts at 1");
    let got = s.events(&b, 3).await.unwrap();
    assert_eq!(
        got,
        vec![
            event(&b, 4).with_seq(5),
            event(&b, 3).with_seq(4),
            event(&b, 2).with_seq(3)
        ]
    );
    assert_eq!(s.events(&b, usize::MAX).await.unwrap().len(), 5);
    assert!(s.events(&b, 0).await.unwrap().is_empty());

    // A time is kept to the microsecond: nanoseconds go, and two events within one
    // microsecond read in reverse append order. The event's own `seq` is ignored.
    let fine = common::brand("timeline-us");
    let at = t0() + Duration::nanoseconds(1_234_567_891);
    let mut late = event(&fine, 0);
    late.at = at;
    late.seq = 999;
    let mut early = event(&fine, 0);
    early.at = at - Duration::nanoseconds(500);
    let first = s.append_event(&late).await.unwrap();
    let second = s.append_event(&early).await.unwrap();
    let mut want_late = late.clone().with_seq(first);
    want_late.at = t0() + Duration::microseconds(1_234_567);
    let mut want_early = early.clone().with_seq(second);
    want_early.at = want_late.at;
    assert_eq!(
        s.events(&fine, 10).await.unwrap(),
        vec![want_early, want_late]
    );
    // Before the epoch too.
    let old = common::brand("timeline-old");
    let mut e = event(&old, 0);
    e.at = Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).unwrap() + Duration::microseconds(7);
    let seq = s.append_event(&e).await.unwrap();
    assert_eq!(s.events(&old, 1).await.unwrap(), vec![e.with_seq(seq)]);
}

async fn concurrent_appends_get_distinct_increasing_sequence_numbers(s: RedisStore, _: Backend) {
    let b: Arc<str> = common::brand("timeline-conc").into();
    let mut tasks = Vec::new();
    for task in 0..8u64 {
        let (s, b) = (s.clone(), Arc::clone(&b));
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..25 {
                // Every event at the same instant: only the sequence orders them.
                let mut e = event(&b, 0);
                e.kind = EventKind::ThresholdCrossed {
                    threshold: 50,
                    used: task * 100 + i,
                    limit: 100,
                };
                mine.push(s.append_event(&e).await.unwrap());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<u64>>());
    let got: Vec<u64> = s
        .events(&b, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(got, (1..=200).rev().collect::<Vec<u64>>());
}
