//! The [`Clock`] trait and the system's clock, re-exported at the crate root.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as microseconds since the Unix epoch: what the request path reads
    /// (integer compares, no calendar conversion). Must agree with [`Clock::now`]; the default
    /// derives it from `now()`, clocks that can do better override it.
    fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }
}

/// `micros` since the Unix epoch as a date-time (saturating at chrono's range).
pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(if micros < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        from_micros(self.now_micros())
    }

    fn now_micros(&self) -> i64 {
        static WALL: OnceLock<CounterWall> = OnceLock::new();
        WALL.get_or_init(CounterWall::new).now_micros()
    }
}

/// How often [`CounterWall`] re-reads the system clock, nanoseconds.
const RESYNC_NS: u64 = 50_000_000;

/// The wall clock read through the CPU's time-stamp counter (`quanta`, calibrated against the
/// monotonic clock): a reading is a counter read and two relaxed atomic loads instead of a
/// `clock_gettime` call and a calendar conversion. The offset to the system clock is re-read
/// every 50 ms and only ever moves forward, so readings never go backwards: a forward step
/// of the system clock (NTP) is followed within 50 ms, a backward one is absorbed (the
/// reading runs ahead until the system clock catches up). Where the counter is not usable,
/// `quanta` falls back to the monotonic clock (same answers, slower).
#[derive(Debug)]
struct CounterWall {
    counter: quanta::Clock,
    /// Raw counter value at creation.
    origin: u64,
    /// System time minus elapsed counter time, microseconds.
    offset_us: AtomicI64,
    /// Elapsed counter nanoseconds after which the offset is re-read.
    next_sync_ns: AtomicU64,
}

impl CounterWall {
    fn new() -> Self {
        let counter = quanta::Clock::new();
        let origin = counter.raw();
        let wall = CounterWall {
            counter,
            origin,
            offset_us: AtomicI64::new(i64::MIN),
            next_sync_ns: AtomicU64::new(0),
        };
        wall.sync(0);
        wall
    }

    fn now_micros(&self) -> i64 {
        let elapsed_ns = self.counter.delta_as_nanos(self.origin, self.counter.raw());
        if elapsed_ns >= self.next_sync_ns.load(Ordering::Relaxed) {
            return self.sync(elapsed_ns);
        }
        self.offset_us
            .load(Ordering::Relaxed)
            .saturating_add(micros_of(elapsed_ns))
    }

    /// Re-reads the system clock at `elapsed_ns` on the counter; returns the reading.
    fn sync(&self, elapsed_ns: u64) -> i64 {
        let elapsed_us = micros_of(elapsed_ns);
        let offset = system_micros().saturating_sub(elapsed_us);
        // Never backwards: the counter only grows, so a non-decreasing offset keeps every
        // later reading at or after every earlier one.
        let previous = self.offset_us.fetch_max(offset, Ordering::Relaxed);
        self.next_sync_ns
            .store(elapsed_ns.saturating_add(RESYNC_NS), Ordering::Relaxed);
        previous.max(offset).saturating_add(elapsed_us)
    }
}

fn micros_of(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

/// The system clock in microseconds since the Unix epoch (read at each resync only).
fn system_micros() -> i64 {
    Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_follows_the_system_time() {
        let clock = SystemClock;
        for _ in 0..1_000 {
            let before = system_micros();
            let ours = clock.now_micros();
            let after = system_micros();
            // The same time up to the counter's drift between resyncs or a system clock
            // step being absorbed: a generous second either way.
            assert!(
                ours >= before - 1_000_000 && ours <= after + 1_000_000,
                "{before} <= {ours} <= {after}"
            );
        }
        let now = clock.now();
        let micros = clock.now_micros();
        assert!((micros - now.timestamp_micros()).abs() < 1_000_000);
        assert!((now - Utc::now()).num_seconds().abs() < 2);
    }

    #[test]
    fn system_clock_readings_never_go_backwards() {
        let clock = SystemClock;
        let mut last = clock.now_micros();
        // Long enough to cross several 50 ms resyncs; each pass is a property check, not a
        // timing bound.
        let until = std::time::Instant::now() + std::time::Duration::from_millis(200);
        while std::time::Instant::now() < until {
            let now = clock.now_micros();
            assert!(now >= last, "{now} < {last}");
            last = now;
        }
    }

    #[test]
    fn a_backward_system_step_is_absorbed() {
        let wall = CounterWall::new();
        let ahead = wall.offset_us.load(Ordering::Relaxed) + 5_000_000;
        // As if the system clock had been 5 s ahead at the last resync and then stepped back.
        wall.offset_us.store(ahead, Ordering::Relaxed);
        let before = wall.now_micros();
        let elapsed = wall.counter.delta_as_nanos(wall.origin, wall.counter.raw());
        let after_sync = wall.sync(elapsed);
        assert!(after_sync >= before, "{after_sync} < {before}");
        assert_eq!(wall.offset_us.load(Ordering::Relaxed), ahead);
    }

    #[test]
    fn micros_out_of_chrono_range_saturate() {
        assert_eq!(from_micros(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(from_micros(i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(from_micros(0), DateTime::<Utc>::UNIX_EPOCH);
    }
}
