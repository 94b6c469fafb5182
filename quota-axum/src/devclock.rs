//! The dev clock (`quota serve --dev-clock`): the system clock plus an offset that QA moves
//! forward through an admin endpoint, to rehearse the month-end reset without waiting.
//! The base clock is the system clock, or one given by the embedder (tests).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use quota_core::{Clock, SystemClock};

/// Longest single jump accepted, in seconds (about 400 days).
pub const MAX_ADVANCE_SECS: i64 = 400 * 86_400;

/// A base clock plus a forward-only offset. Clones share the offset.
#[derive(Clone)]
pub struct DevClock {
    base: Arc<dyn Clock>,
    offset_us: Arc<AtomicI64>,
}

impl Default for DevClock {
    fn default() -> Self {
        DevClock::over(Arc::new(SystemClock))
    }
}

impl DevClock {
    /// A dev clock showing the system time.
    pub fn new() -> Self {
        DevClock::default()
    }

    /// A dev clock over another base clock.
    pub fn over(base: Arc<dyn Clock>) -> Self {
        DevClock {
            base,
            offset_us: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The current offset from the system clock.
    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_us.load(Ordering::SeqCst))
    }

    /// Moves the time forward by `secs` seconds (1 to [`MAX_ADVANCE_SECS`]).
    pub fn advance_secs(&self, secs: i64) -> Result<DateTime<Utc>, String> {
        if !(1..=MAX_ADVANCE_SECS).contains(&secs) {
            return Err(format!(
                "the dev clock only moves forward, by 1 to {MAX_ADVANCE_SECS} seconds at a time"
            ));
        }
        let delta = secs.saturating_mul(1_000_000);
        let _ = self
            .offset_us
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(delta))
            });
        Ok(self.now())
    }

    /// Moves the time forward to `at` (refused if `at` is not in the future).
    pub fn advance_to(&self, at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        let now = self.now();
        let secs = at.signed_duration_since(now).num_seconds();
        if secs < 1 {
            return Err(format!(
                "{at} is not in the future of the dev clock ({now}): it only moves forward"
            ));
        }
        self.advance_secs(secs)
    }
}

impl Clock for DevClock {
    fn now(&self) -> DateTime<Utc> {
        self.base
            .now()
            .checked_add_signed(self.offset())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl fmt::Debug for DevClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevClock")
            .field("offset", &self.offset())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let c = DevClock::new();
        let before = c.now();
        let after = c.advance_secs(86_400).unwrap_or(before);
        assert!(after.signed_duration_since(before).num_seconds() >= 86_400);
        assert!(c.advance_secs(0).is_err());
        assert!(c.advance_secs(-5).is_err());
        assert!(c.advance_to(before).is_err());
    }
}
