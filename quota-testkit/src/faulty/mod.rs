//! [`FaultyStore`]: a store that forwards every call to the store it wraps, and fails or hangs
//! the operations a test chooses.
//!
//! ```
//! use quota_core::{MemoryStore, UsageStore};
//! use quota_testkit::{FaultyStore, Op, Ops};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = FaultyStore::new(MemoryStore::new());
//! store.ping().await.unwrap();
//! store.fail(Ops::of(quota_testkit::faulty::Trait::Usage));
//! assert!(store.ping().await.unwrap_err().is_unavailable());
//! store.heal(Ops::ALL);
//! store.fail_nth(Op::Ping, 2);
//! assert!(store.ping().await.is_ok());
//! assert!(store.ping().await.is_err(), "the second call from then on fails");
//! assert!(store.ping().await.is_ok(), "once");
//! assert_eq!(store.calls(Op::Ping), 5);
//! # });
//! ```

mod forward;
mod op;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use quota_core::StoreError;
use quota_core::store::StoreResult;
use tokio::sync::watch;

pub use op::{Op, Ops, Trait};

/// What happens to a call that meets a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The call fails with [`StoreError::Unavailable`] without reaching the wrapped store.
    Unavailable,
    /// The call waits until the fault is lifted ([`FaultyStore::heal`]), then goes on (to the
    /// wrapped store, or to a failure if the operation fails by then). A synchronous method
    /// cannot wait: a hung `in_process` answers `None`, which sends the caller to `consume`
    /// (that can wait); a hung `consume_now` answers [`StoreError::Timeout`].
    Hang,
}

/// Wraps a store `S` and implements every store trait that `S` implements (`UsageStore`,
/// `TopUpStore`, `AlertStore`, `SubscriptionStore`, `OutboxStore`), forwarding each method,
/// the provided ones included, to `S`'s own. Until a test sets a fault, it behaves exactly as
/// `S`; it counts the calls of each [`Op`] either way.
///
/// Faults apply per operation: [`fail`](FaultyStore::fail) and [`hang`](FaultyStore::hang)
/// every call of a set of operations until [`heal`](FaultyStore::heal), or
/// [`fail_nth`](FaultyStore::fail_nth) one call. Note that a `QuotaGuard` on an in-process
/// store consumes through `in_process` and `consume_now`, not `consume` ([`Ops::CONSUME`]
/// names all three).
pub struct FaultyStore<S> {
    state: Mutex<Faults>,
    calls: [AtomicU64; Op::COUNT],
    changed: watch::Sender<()>,
    inner: S,
}

#[derive(Default)]
struct Faults {
    failing: Ops,
    hanging: Ops,
    /// (operation, call number) pairs that fail once.
    nth: Vec<(Op, u64)>,
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`, with no fault set.
    pub fn new(inner: S) -> Self {
        FaultyStore {
            state: Mutex::new(Faults::default()),
            calls: [const { AtomicU64::new(0) }; Op::COUNT],
            changed: watch::channel(()).0,
            inner,
        }
    }

    /// The wrapped store.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped store, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped store, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Every call of `ops` fails with [`StoreError::Unavailable`] until healed (calls hung on
    /// them then fail too).
    pub fn fail(&self, ops: impl Into<Ops>) {
        let ops = ops.into();
        let mut state = self.faults();
        state.failing = state.failing | ops;
        state.hanging = state.hanging.without(ops);
        drop(state);
        self.changed.send_replace(());
    }

    /// Every call of `ops` waits until healed (see [`Fault::Hang`]).
    pub fn hang(&self, ops: impl Into<Ops>) {
        let ops = ops.into();
        let mut state = self.faults();
        state.hanging = state.hanging | ops;
        state.failing = state.failing.without(ops);
    }

    /// The `n`-th call of `op` from now on (`1` = the next one) fails with
    /// [`StoreError::Unavailable`], once.
    pub fn fail_nth(&self, op: Op, n: u64) {
        let at = self.calls(op).saturating_add(n.max(1));
        self.faults().nth.push((op, at));
    }

    /// Lifts the faults of `ops` ([`Ops::ALL`]: every fault), including pending
    /// [`fail_nth`](FaultyStore::fail_nth) ones; hung calls of `ops` go on.
    pub fn heal(&self, ops: impl Into<Ops>) {
        let ops = ops.into();
        let mut state = self.faults();
        state.failing = state.failing.without(ops);
        state.hanging = state.hanging.without(ops);
        state.nth.retain(|(op, _)| !ops.contains(*op));
        drop(state);
        self.changed.send_replace(());
    }

    /// How many calls of `op` the wrapper has seen (failed and hung ones included).
    pub fn calls(&self, op: Op) -> u64 {
        self.counter(op).load(Ordering::SeqCst)
    }

    fn counter(&self, op: Op) -> &AtomicU64 {
        // `calls` has one counter per `Op`, indexed by `Op::index`.
        #[allow(clippy::indexing_slicing)]
        &self.calls[op.index()]
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a call of `op` and says which fault, if any, it meets.
    fn enter(&self, op: Op) -> Option<Fault> {
        let n = self
            .counter(op)
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        let mut state = self.faults();
        if let Some(i) = state.nth.iter().position(|&(o, at)| o == op && at == n) {
            state.nth.swap_remove(i);
            return Some(Fault::Unavailable);
        }
        if state.failing.contains(op) {
            Some(Fault::Unavailable)
        } else if state.hanging.contains(op) {
            Some(Fault::Hang)
        } else {
            None
        }
    }

    /// The gate of an async method: passes, fails, or waits until `op` is no longer hung.
    async fn gate(&self, op: Op) -> StoreResult<()> {
        match self.enter(op) {
            None => Ok(()),
            Some(Fault::Unavailable) => Err(unavailable(op)),
            Some(Fault::Hang) => {
                let mut changes = self.changed.subscribe();
                while self.faults().hanging.contains(op) {
                    if changes.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                if self.faults().failing.contains(op) {
                    Err(unavailable(op))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The gate of a synchronous method: `Some` when the call meets a fault.
    fn gate_now(&self, op: Op) -> Option<Fault> {
        self.enter(op)
    }
}

fn unavailable(op: Op) -> StoreError {
    StoreError::Unavailable {
        message: format!("{op}: unavailable (fault injected by FaultyStore)"),
        source: None,
    }
}
