//! Overhead of the quota layer: the same axum route called in-process (`oneshot`, i.e.
//! `ready().call()`) bare and behind `QuotaLayer` over a `MemoryStore`, side by side.
//!
//! Run: `cargo bench -p quota-tower --bench layer`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderName, Request};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Store, Subscription};
use quota_tower::QuotaLayer;
use tower::ServiceExt;

/// One metric with an allowance the bench never exhausts.
const CATALOG: &str = r#"
currency = "EUR"
[[metrics]]
key = "renders_2d"
kind = "counter"
[[plans]]
id = "bench"
price = 0
[plans.limits.renders_2d]
included = 1000000000000
overage = { policy = "block" }
"#;

fn route() -> Router {
    Router::new().route("/renders", post(|| async { "rendered" }))
}

fn request() -> Request<Body> {
    Request::post("/renders")
        .header("x-brand-id", "acme")
        .body(Body::empty())
        .unwrap()
}

async fn guard<S: Store + 'static>(store: S) -> QuotaGuard<S> {
    let catalog = Catalog::from_toml(CATALOG).unwrap();
    let guard = QuotaGuard::builder(catalog).build(Arc::new(store));
    guard
        .subscribe(Subscription::new("acme", "bench", chrono::Utc::now()))
        .await
        .unwrap();
    guard
}

fn layer_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let header = HeaderName::from_static("x-brand-id");

    let bare = route();
    let core_only = rt.block_on(guard(MemoryStore::new()));
    let guarded = route().layer(
        QuotaLayer::new(rt.block_on(guard(MemoryStore::new())))
            .brand_from_header(header.clone())
            .metric("renders_2d"),
    );
    let dyn_guard: QuotaGuard = {
        let g = rt.block_on(guard(MemoryStore::new()));
        QuotaGuard::builder(Catalog::from_toml(CATALOG).unwrap())
            .build(Arc::clone(g.store()) as Arc<dyn Store>)
    };
    let guarded_dyn = route().layer(
        QuotaLayer::new(dyn_guard)
            .brand_from_header(header.clone())
            .metric("renders_2d"),
    );
    let guarded_burst = route().layer(
        QuotaLayer::new(rt.block_on(guard(MemoryStore::new())))
            .brand_from_header(header)
            .metric("renders_2d")
            .burst(NonZeroU32::new(u32::MAX).unwrap(), Duration::from_secs(1)),
    );

    let mut group = c.benchmark_group("layer");
    for (name, app) in [
        ("bare", &bare),
        ("quota_layer", &guarded),
        ("quota_layer_dyn_store", &guarded_dyn),
        ("quota_layer_with_burst", &guarded_burst),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let res = app.clone().oneshot(request()).await.unwrap();
                assert!(res.status().is_success());
                black_box(res)
            });
        });
    }
    // The core decision alone (what the layer awaits), to split the overhead.
    group.bench_function("guard_consume_only", |b| {
        b.to_async(&rt).iter(|| async {
            let d = core_only
                .consume("acme", "renders_2d", 1, None)
                .await
                .unwrap();
            black_box(d)
        });
    });
    group.finish();

    // Interleaved: each iteration calls the bare route then the guarded one, so both see the
    // same machine load (the 2 cores are shared); `bare` reports the bare calls' time,
    // `quota_layer` the guarded calls' time, so their ratio compares like with like.
    let mut group = c.benchmark_group("interleaved");
    for report_guarded in [false, true] {
        let name = if report_guarded {
            "quota_layer"
        } else {
            "bare"
        };
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let bare = bare.clone();
                let guarded = guarded.clone();
                async move {
                    let mut bare_time = Duration::ZERO;
                    let mut guarded_time = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        black_box(bare.clone().oneshot(request()).await.unwrap());
                        bare_time += t.elapsed();
                        let t = Instant::now();
                        black_box(guarded.clone().oneshot(request()).await.unwrap());
                        guarded_time += t.elapsed();
                    }
                    if report_guarded {
                        guarded_time
                    } else {
                        bare_time
                    }
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, layer_overhead);
criterion_main!(benches);
