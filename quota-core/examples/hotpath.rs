#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
use governor::{Quota, RateLimiter};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
fn main() {
    let which = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let nb: usize = std::env::var("BRANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let brands: Vec<String> = (0..nb).map(|i| format!("brand_{i:04}")).collect();
    let catalog = Catalog::from_toml(
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
    .unwrap();
    let guard = QuotaGuard::new(catalog, Arc::new(MemoryStore::new()));
    for b in &brands {
        ready(guard.subscribe(Subscription::new(b, "pro", chrono::Utc::now()))).unwrap();
    }
    let governor = RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX));
    for b in &brands {
        let _ = governor.check_key(b);
    }
    for b in &brands {
        let _ = ready(guard.consume(b, "api_calls", 1, None));
    }
    {
        let f = guard.consume(&brands[0], "api_calls", 1, None);
        eprintln!("future size {}", std::mem::size_of_val(&f));
    }
    let t = std::time::Instant::now();
    for i in 0..n {
        let b = &brands[i % nb];
        if which == "ours" {
            assert!(
                ready(guard.consume(b, "api_calls", 1, None))
                    .unwrap()
                    .is_allowed()
            );
        } else if which == "gov" {
            assert!(governor.check_key(b).is_ok());
        }
    }
    eprintln!(
        "{which}: {:?}/iter",
        t.elapsed() / u32::try_from(n).unwrap()
    );
}
