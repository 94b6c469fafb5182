//! The faults of `FaultyStore`: failures, hangs, the n-th call, healing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use quota_core::store::{CounterKey, StoreResult};
use quota_core::{MemoryStore, SubscriptionStore, UsageStore};
use quota_testkit::conformance::{PERIOD, request, unique_brand};
use quota_testkit::faulty::Trait;
use quota_testkit::{FaultyStore, Op, Ops};

fn store() -> Arc<FaultyStore<MemoryStore>> {
    Arc::new(FaultyStore::new(MemoryStore::new()))
}

fn is_unavailable<T: std::fmt::Debug>(answer: &StoreResult<T>) -> bool {
    answer.as_ref().is_err_and(|e| e.is_unavailable())
}

#[tokio::test]
async fn a_failing_operation_fails_without_reaching_the_store_until_healed() {
    let store = store();
    let brand = unique_brand("fault-fail");
    store.fail(Op::Consume);
    let answer = store.consume(&request(&brand, "m", 3, None, None)).await;
    assert!(is_unavailable(&answer), "{answer:?}");
    let key = CounterKey::new(&brand, "m", PERIOD);
    assert_eq!(
        store.usage(key).await.unwrap().used,
        0,
        "other operations work"
    );
    assert_eq!(store.get_ref().usage(key).await.unwrap().used, 0);
    store.heal(Ops::ALL);
    let out = store
        .consume(&request(&brand, "m", 3, None, None))
        .await
        .unwrap();
    assert_eq!(out.used, 3);
    assert_eq!(store.calls(Op::Consume), 2);
}

#[tokio::test]
async fn the_synchronous_consume_fails_or_defers_to_consume() {
    let store = store();
    let brand = unique_brand("fault-sync");
    let req = request(&brand, "m", 1, None, None);
    let local = store.in_process().expect("the memory store is in-process");
    assert_eq!(local.consume_now(&req).unwrap().used, 1);
    store.fail(Ops::CONSUME);
    let local = store
        .in_process()
        .expect("a failing store stays in-process");
    assert!(is_unavailable(&local.consume_now(&req)));
    store.hang(Ops::CONSUME);
    assert!(
        store.in_process().is_none(),
        "a hung synchronous consume sends the caller to `consume`"
    );
    store.heal(Ops::ALL);
    let local = store.in_process().expect("healed");
    assert_eq!(local.consume_now(&req).unwrap().used, 2);
}

#[tokio::test]
async fn the_nth_call_fails_once() {
    let store = store();
    store.ping().await.unwrap();
    store.fail_nth(Op::Ping, 3);
    store.fail_nth(Op::Usage, 1);
    store.ping().await.unwrap();
    store.ping().await.unwrap();
    assert!(is_unavailable(&store.ping().await));
    store.ping().await.unwrap();
    assert_eq!(store.calls(Op::Ping), 5);
    let key = CounterKey::new("b", "m", PERIOD);
    assert!(is_unavailable(&store.usage(key).await));
    assert!(store.usage(key).await.is_ok());
}

#[tokio::test]
async fn a_trait_fails_as_a_whole() {
    let store = store();
    store.fail(Ops::of(Trait::Usage));
    for op in Ops::of(Trait::Usage).iter() {
        assert_eq!(op.of(), Trait::Usage);
    }
    assert!(is_unavailable(&store.ping().await));
    assert!(is_unavailable(&store.gauge("b", "g").await));
    assert!(store.subscriptions().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_waits_until_healed_then_goes_on() {
    let store = store();
    let brand = unique_brand("fault-hang");
    store.hang(Op::Consume);
    let call = {
        let store = Arc::clone(&store);
        let brand = brand.clone();
        tokio::spawn(async move { store.consume(&request(&brand, "m", 4, None, None)).await })
    };
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!call.is_finished(), "still hung an hour later");
    let key = CounterKey::new(&brand, "m", PERIOD);
    assert_eq!(store.usage(key).await.unwrap().used, 0);
    store.heal(Op::Consume);
    assert_eq!(call.await.unwrap().unwrap().used, 4);
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_fails_when_its_operation_is_then_failed() {
    let store = store();
    store.hang(Op::Ping);
    let call = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.ping().await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.fail(Op::Ping);
    assert!(is_unavailable(&call.await.unwrap()));
}
