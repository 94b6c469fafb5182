//! `QuotaGuard`: the façade that turns plans into decisions on top of a store.
//!
//! The hot path (`consume`) is one store call: the brand's subscription, plan limits and
//! current period are cached in-process (refreshed every `subscription_cache_ttl`, at
//! period boundaries and on local plan changes), and alert claims are only asked for when
//! a threshold is actually crossed.

mod alerts;
mod consume;
mod context;
mod future;
mod gauges;
mod snapshot;
mod subscriptions;
mod topups;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use smol_str::SmolStr;

use crate::alert::AlertListener;
use crate::catalog::Catalog;
use crate::error::Result;
use crate::ids::validate_brand_id;
use crate::report::TimelineEvent;
use crate::{Clock, Store, SystemClock};

type Hasher = foldhash::fast::RandomState;

pub(crate) use context::BrandContext;
pub use future::ConsumeFuture;

/// Options of a [`QuotaGuard`].
#[derive(Clone, Debug)]
pub struct GuardBuilder {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Arc<dyn AlertListener>>,
    cache_ttl: Duration,
    retention: Duration,
}

impl GuardBuilder {
    /// Sets the clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds an alert listener.
    #[must_use]
    pub fn listener(mut self, listener: Arc<dyn AlertListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// How long a brand's subscription is cached before it is read again from the store
    /// (default 5 s). Plan changes made through this guard apply at once; changes made by
    /// another instance apply within this delay. The hard limit itself is always enforced
    /// by the store, atomically.
    #[must_use]
    pub fn subscription_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a period's counters are kept after it ends (default 35 days).
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Builds the guard over `store`.
    pub fn build<S: Store + ?Sized>(self, store: Arc<S>) -> QuotaGuard<S> {
        let ttl_us = i64::try_from(self.cache_ttl.as_micros()).unwrap_or(i64::MAX);
        let retention =
            chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::days(35));
        QuotaGuard {
            inner: Arc::new(Inner {
                catalog: self.catalog,
                clock: self.clock,
                listeners: self.listeners,
                cache: DashMap::with_hasher(Hasher::default()),
                cache_ttl_us: ttl_us,
                retention,
                salt: id_salt(),
                seq: AtomicU64::new(0),
                store,
            }),
        }
    }
}

/// Enforces a catalog's plans on a store. Cheap to clone; share one per process.
///
/// `S` is the store type: a concrete store gives static dispatch, `dyn Store` (the default)
/// lets the backend be chosen at run time.
pub struct QuotaGuard<S: Store + ?Sized = dyn Store> {
    inner: Arc<Inner<S>>,
}

impl<S: Store + ?Sized> Clone for QuotaGuard<S> {
    fn clone(&self) -> Self {
        QuotaGuard {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Store + ?Sized> std::fmt::Debug for QuotaGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaGuard")
            .field("plans", &self.inner.catalog.plans().len())
            .field("cached_brands", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

struct Inner<S: Store + ?Sized> {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Arc<dyn AlertListener>>,
    /// Brand ids up to 23 bytes are stored inline in the map's slots: matching one reads no
    /// other memory.
    cache: DashMap<SmolStr, Arc<BrandContext>, Hasher>,
    cache_ttl_us: i64,
    retention: chrono::Duration,
    salt: u64,
    seq: AtomicU64,
    store: Arc<S>,
}

fn id_salt() -> u64 {
    use std::hash::{BuildHasher, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

impl QuotaGuard<dyn Store> {
    /// A builder with the system clock, no listener and default cache settings.
    pub fn builder(catalog: Catalog) -> GuardBuilder {
        GuardBuilder {
            catalog: Arc::new(catalog),
            clock: Arc::new(SystemClock),
            listeners: Vec::new(),
            cache_ttl: Duration::from_secs(5),
            retention: Duration::from_secs(35 * 24 * 3600),
        }
    }
}

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// A guard with default options.
    pub fn new(catalog: Catalog, store: Arc<S>) -> Self {
        QuotaGuard::builder(catalog).build(store)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The brand's latest `limit` events, all periods, newest first.
    pub async fn timeline(&self, brand: &str, limit: usize) -> Result<Vec<TimelineEvent>> {
        validate_brand_id(brand)?;
        Ok(self.inner.store.events(brand, limit).await?)
    }

    // ---- internals -----------------------------------------------------------------------

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
}
