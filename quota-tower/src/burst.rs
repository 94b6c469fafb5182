//! Per-brand burst limiting with `governor` (GCRA, keyed by brand), checked before the
//! quota so that a burst never burns billed units.
//!
//! The limiter reads the guard's [`Clock`], the same time source as the quota decision: one
//! request sees one time, and a `FakeClock` drives bursts in tests as it drives periods.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use quota_core::Clock;

use crate::brand::Brand;
use crate::headers::BurstItem;

type Limiter =
    RateLimiter<Brand, DefaultKeyedStateStore<Brand>, GuardClock, StateInformationMiddleware>;

/// The guard's [`Clock`] as a governor clock: nanoseconds since the Unix epoch (instants
/// before 1970 read as the epoch; a `u64` of nanoseconds lasts until 2554).
#[derive(Clone, Debug)]
struct GuardClock(Arc<dyn Clock>);

impl governor::clock::Clock for GuardClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let micros = u64::try_from(self.0.now_micros()).unwrap_or(0);
        Nanos::from(micros.saturating_mul(1_000))
    }
}

/// Forget brands idle for a full window every this many checks, so the key map stays small.
const RETAIN_EVERY: u64 = 4096;

/// At most `max` requests per brand in any `window`, refilled evenly.
pub struct BurstLimit {
    limiter: Limiter,
    max: NonZeroU32,
    window: Duration,
    cell: Duration,
    checks: AtomicU64,
}

impl fmt::Debug for BurstLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BurstLimit")
            .field("max", &self.max)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// Rounds a duration up to whole seconds.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 {
        s.saturating_add(1)
    } else {
        s
    }
}

impl BurstLimit {
    /// `max` requests per `window` and brand, timed by `clock` (the guard's, so that burst
    /// and quota read one time); `None` when `window` is too short to split into `max` cells
    /// (under one nanosecond each).
    pub fn new(max: NonZeroU32, window: Duration, clock: Arc<dyn Clock>) -> Option<Self> {
        let cell = window.checked_div(max.get())?;
        let quota = Quota::with_period(cell)?.allow_burst(max);
        Some(BurstLimit {
            limiter: RateLimiter::dashmap_with_clock(quota, GuardClock(clock))
                .with_middleware::<StateInformationMiddleware>(),
            max,
            window,
            cell,
            checks: AtomicU64::new(0),
        })
    }

    /// The largest burst.
    pub fn max(&self) -> NonZeroU32 {
        self.max
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Takes one cell for `brand`: `Ok` with the state after, or `Err` with the state and the
    /// seconds to wait.
    pub(crate) fn check(&self, brand: &Brand) -> Result<BurstItem, (BurstItem, u64)> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .checked_rem(RETAIN_EVERY)
            == Some(0)
        {
            self.limiter.retain_recent();
        }
        let window_secs = ceil_secs(self.window).max(1);
        match self.limiter.check_key(brand) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.max.get().saturating_sub(remaining);
                let refill = self.cell.saturating_mul(used);
                Ok(BurstItem {
                    max: self.max.get(),
                    window_secs,
                    remaining,
                    reset_secs: ceil_secs(refill),
                })
            }
            Err(not_until) => {
                let wait = ceil_secs(not_until.wait_time_from(self.limiter.clock().now())).max(1);
                Err((
                    BurstItem {
                        max: self.max.get(),
                        window_secs,
                        remaining: 0,
                        reset_secs: wait,
                    },
                    wait,
                ))
            }
        }
    }
}
