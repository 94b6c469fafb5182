//! [`QuotaService`]: decides on each request before the inner service sees it.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use quota_core::{QuotaGuard, Store};
use tower_service::Service;

use crate::brand::RequestHead;
use crate::config::Config;
use crate::decide::{decide, misconfigured};
use crate::future::ResponseFuture;
use crate::layer::QuotaLayer;

/// Enforces quotas in front of `Svc`. Built by [`QuotaLayer`].
pub struct QuotaService<Svc, St: Store + ?Sized = dyn Store> {
    inner: Svc,
    config: Arc<Config<St>>,
}

impl<Svc: Clone, St: Store + ?Sized> Clone for QuotaService<Svc, St> {
    fn clone(&self) -> Self {
        QuotaService {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<Svc: fmt::Debug, St: Store + ?Sized> fmt::Debug for QuotaService<Svc, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<St: Store + ?Sized + 'static> QuotaService<(), St> {
    /// A layer over `guard` (same as [`QuotaLayer::new`]).
    pub fn layer(guard: QuotaGuard<St>) -> QuotaLayer<St> {
        QuotaLayer::new(guard)
    }
}

impl<Svc, St: Store + ?Sized + 'static> QuotaService<Svc, St> {
    pub(crate) fn from_config(inner: Svc, config: Arc<Config<St>>) -> Self {
        QuotaService { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &Svc {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut Svc {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> Svc {
        self.inner
    }

    /// The guard.
    pub fn guard(&self) -> &QuotaGuard<St> {
        &self.config.guard
    }
}

impl<Svc, St, ReqBody, ResBody> Service<Request<ReqBody>> for QuotaService<Svc, St>
where
    Svc: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    St: Store + ?Sized + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = Svc::Error;
    type Future = ResponseFuture<Svc, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let head = RequestHead::new(&req);
        let Some(meter) = &config.meter else {
            let res = misconfigured(
                config,
                "QuotaLayer has no metric: set one with .metric(..), .cost(..), .meter(..) or .routes(..)".to_owned(),
            );
            return ResponseFuture::refused(res);
        };
        let Some(cost) = meter.meter(head) else {
            // Not metered: straight to the service that was polled ready.
            return ResponseFuture::passthrough(self.inner.call(req));
        };
        let resolution = config.resolver.resolve(head);
        // A key is bound to the route it was sent to (and to the metric and units).
        let key = config
            .idempotency_header
            .as_ref()
            .and_then(|h| req.headers().get(h))
            .map(|k| (k.clone(), format!("{} {}", req.method(), req.uri().path())));
        let gate = Box::pin(decide(Arc::clone(config), resolution, cost, key));
        // The clone may not be ready: keep it, and give the ready one to the future.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::deciding(gate, inner, req)
    }
}
