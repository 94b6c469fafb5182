//! Alert listeners: who hears about threshold crossings, blocks and resolutions.

use std::fmt;
use std::sync::Mutex;

use crate::report::TimelineEvent;

/// Receives every timeline event the guard emits (after the store accepted it), once per
/// event across all instances sharing a store, since the store arbitrates alert claims.
///
/// Called inline on the request path: implementations must not block; hand the event to a
/// channel or an outbox and deliver it elsewhere.
pub trait AlertListener: Send + Sync + fmt::Debug {
    /// One event.
    fn on_event(&self, event: &TimelineEvent);
}

/// A listener that keeps events in memory (tests, demos).
#[derive(Debug, Default)]
pub struct CollectingListener {
    events: Mutex<Vec<TimelineEvent>>,
}

impl CollectingListener {
    /// An empty collector.
    pub fn new() -> Self {
        CollectingListener::default()
    }

    /// Events received so far, oldest first.
    pub fn events(&self) -> Vec<TimelineEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl AlertListener for CollectingListener {
    fn on_event(&self, event: &TimelineEvent) {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}
