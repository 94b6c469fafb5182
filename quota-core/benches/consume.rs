//! `consume` on the in-memory store across 1,000 brands, side by side with governor's keyed
//! `check_key` on 1,000 keys, single-threaded. Run: `cargo bench -p quota-core --bench consume`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};

const BRANDS: usize = 1_000;

/// Polls a future that never waits (the memory store) to completion without a runtime.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn catalog() -> Catalog {
    // A large soft limit: the measured path is the normal "allowed" one.
    Catalog::from_toml(
        r#"
        currency = "EUR"
        [[metrics]]
        key = "api_calls"
        kind = "counter"
        [[plans]]
        id = "pro"
        price = 9900
        [plans.limits.api_calls]
        included = 1000000000000
        overage = { policy = "charge", unit_price = 1, per_units = 1000 }
        "#,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let brands: Vec<String> = (0..BRANDS).map(|i| format!("brand_{i:04}")).collect();
    let guard = QuotaGuard::new(catalog(), Arc::new(MemoryStore::new()));
    for b in &brands {
        ready(guard.subscribe(Subscription::new(b, "pro", chrono::Utc::now()))).unwrap();
    }
    let governor = RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX));
    for b in &brands {
        let _ = governor.check_key(b);
    }

    let mut group = c.benchmark_group("consume_1000_brands");
    let mut i = 0usize;
    group.bench_function("quota_core_memory_consume", |bench| {
        bench.iter(|| {
            i = (i + 1) % BRANDS;
            let d = ready(guard.consume(&brands[i], "api_calls", 1, None)).unwrap();
            assert!(d.is_allowed());
        });
    });
    let mut j = 0usize;
    group.bench_function("governor_keyed_check_key", |bench| {
        bench.iter(|| {
            j = (j + 1) % BRANDS;
            assert!(governor.check_key(&brands[j]).is_ok());
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
