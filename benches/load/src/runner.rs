//! The open model: requests start on a fixed schedule (`rate` a second) whatever the server's
//! latency, like k6's `constant-arrival-rate`. A slow answer does not slow the next start; it
//! adds one more request in flight, up to `max_in_flight`, past which a slot is dropped and
//! counted (k6's `dropped_iterations`). Every run is bounded in time and in count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::scenario::Load;
use crate::stats::{Recorder, Stats};

/// Largest request rate accepted, per second.
pub const MAX_RATE: f64 = 50_000.0;
/// Longest run accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most requests a run may schedule.
pub const MAX_REQUESTS: u64 = 10_000_000;

/// How a run is paced and bounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Requests started a second.
    pub rate: f64,
    /// Slots are scheduled within this time from the start.
    pub duration: Duration,
    /// At most this many requests are scheduled.
    pub max_requests: u64,
    /// At most this many requests in flight.
    pub max_in_flight: usize,
}

impl Pace {
    /// Refuses a rate, duration or count outside the bounds above.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= MAX_RATE) {
            return Err(format!(
                "--rate {} must be above 0 and at most {MAX_RATE} a second",
                self.rate
            ));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(format!(
                "--duration {:?} must be above 0 and at most {:?}",
                self.duration, MAX_DURATION
            ));
        }
        if self.max_requests == 0 || self.max_requests > MAX_REQUESTS {
            return Err(format!(
                "--max-requests {} must be between 1 and {MAX_REQUESTS}",
                self.max_requests
            ));
        }
        if self.max_in_flight == 0 {
            return Err("--max-in-flight must be at least 1".into());
        }
        Ok(())
    }

    /// When slot `i` starts, from the beginning of the run (`None` past the duration).
    pub fn offset(&self, i: u64) -> Option<Duration> {
        #[allow(clippy::cast_precision_loss)]
        let secs = i as f64 / self.rate;
        let at = Duration::try_from_secs_f64(secs).ok()?;
        (at < self.duration).then_some(at)
    }
}

/// Runs `load` at `pace`; waits for the requests in flight (each has the client's timeout),
/// and returns what the recorder counted.
pub async fn run(load: Arc<Load>, pace: Pace, recorder: &Recorder) -> Stats {
    let permits = Arc::new(Semaphore::new(pace.max_in_flight));
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let mut i: u64 = 0;
    while i < pace.max_requests {
        let Some(offset) = pace.offset(i) else {
            break;
        };
        if let Some(at) = start.checked_add(offset) {
            tokio::time::sleep_until(at.into()).await;
        }
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                let load = Arc::clone(&load);
                let slot = i;
                tasks.spawn(async move {
                    load.run(slot).await;
                    drop(permit);
                });
            }
            Err(_) => recorder.dropped(),
        }
        while tasks.try_join_next().is_some() {}
        i = i.saturating_add(1);
    }
    while tasks.join_next().await.is_some() {}
    let mut stats = recorder.snapshot();
    stats.elapsed = start.elapsed();
    stats
}
