//! Where time comes from. The logic never reads the system clock directly, so tests can jump
//! to the end of a month: the [`Clock`] trait and the
//! [`SystemClock`](crate::SystemClock) are at the crate root; this module holds the test
//! double, [`FakeClock`].

pub(crate) mod system;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

use crate::Clock;
pub(crate) use system::from_micros;

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use quota_core::Clock;
/// use quota_core::clock::FakeClock;
/// let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).unwrap());
/// clock.advance(Duration::minutes(2));
/// assert_eq!(clock.now(), Utc.with_ymd_and_hms(2026, 12, 1, 0, 1, 0).unwrap());
/// ```
#[derive(Clone)]
pub struct FakeClock {
    micros: Arc<AtomicI64>,
    /// Microseconds added after every reading (0: the clock stands still).
    tick_us: i64,
}

impl FakeClock {
    /// A fake clock showing `at` (microsecond precision).
    pub fn at(at: DateTime<Utc>) -> Self {
        FakeClock {
            micros: Arc::new(AtomicI64::new(at.timestamp_micros())),
            tick_us: 0,
        }
    }

    /// This clock, moving forward by `step` after every reading: two readings never show
    /// the same time, which shows where an operation reads the clock more than once.
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use quota_core::Clock;
    /// use quota_core::clock::FakeClock;
    /// let at = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    /// let clock = FakeClock::at(at).ticking(Duration::microseconds(1));
    /// assert_eq!(clock.now(), at);
    /// assert_eq!(clock.now(), at + Duration::microseconds(1));
    /// ```
    #[must_use]
    pub fn ticking(mut self, step: Duration) -> Self {
        self.tick_us = step.num_microseconds().unwrap_or(i64::MAX);
        self
    }

    fn read(&self) -> i64 {
        if self.tick_us == 0 {
            return self.micros.load(Ordering::SeqCst);
        }
        self.micros.fetch_add(self.tick_us, Ordering::SeqCst)
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        self.micros.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let delta = by.num_microseconds().unwrap_or(i64::MAX);
        let _ = self
            .micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(delta))
            });
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        from_micros(self.read())
    }

    fn now_micros(&self) -> i64 {
        self.read()
    }
}

impl fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = from_micros(self.micros.load(Ordering::SeqCst));
        f.debug_tuple("FakeClock").field(&at).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_micros_agree_with_its_date_time() {
        let at = DateTime::parse_from_rfc3339("2024-02-29T23:59:59.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = FakeClock::at(at);
        assert_eq!(clock.now_micros(), at.timestamp_micros());
        assert_eq!(clock.now(), at);
        clock.advance(Duration::microseconds(1));
        assert_eq!(clock.now_micros(), at.timestamp_micros() + 1);
    }
}
