//! `QuotaService` as a plain tower service, and its response future.

use super::*;

#[tokio::test]
async fn works_over_a_dyn_store_and_with_ready_call() {
    use tower::{Service, ServiceExt};
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let guard: QuotaGuard = QuotaGuard::builder(quota_core::Catalog::demo()).build(store);
    guard
        .subscribe(quota_core::Subscription::new(
            BRAND,
            "free",
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    let calls = Calls::default();
    let mut svc = QuotaService::layer(guard.clone())
        .brand_from_header(brand_header())
        .routes(routes())
        .layer_on(app(&calls));
    let res = ServiceExt::<http::Request<axum::body::Body>>::ready(&mut svc)
        .await
        .unwrap()
        .call(request("POST", "/renders", Some(BRAND)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(guard.check(BRAND, "renders_2d", 0).await.unwrap().used, 1);
    assert_eq!(calls.get(), 1);
}

trait LayerOn<Svc> {
    type Out;
    fn layer_on(&self, svc: Svc) -> Self::Out;
}

impl<Svc, L: tower::Layer<Svc>> LayerOn<Svc> for L {
    type Out = L::Service;
    fn layer_on(&self, svc: Svc) -> L::Service {
        self.layer(svc)
    }
}

/// Polling a response future again after it gave its answer breaks the `Future` contract; the
/// future says so (as tower-http's do) instead of answering `Pending` forever.
#[tokio::test]
#[should_panic(expected = "`ResponseFuture` polled after completion")]
async fn polling_a_finished_response_future_panics() {
    use std::future::Future;
    use std::task::{Context, Poll};
    use tower::{Service, ServiceExt};

    let (guard, _) = guard().await;
    let calls = Calls::default();
    let mut svc = layer(guard).layer_on(app(&calls));
    let ready = ServiceExt::<http::Request<axum::body::Body>>::ready(&mut svc)
        .await
        .unwrap();
    let mut fut = std::pin::pin!(ready.call(request("POST", "/renders", Some(BRAND))));
    let res = std::future::poll_fn(|cx| fut.as_mut().poll(cx))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let _: Poll<_> = fut.as_mut().poll(&mut cx);
}
