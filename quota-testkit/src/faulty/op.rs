//! The operations of the store traits, listed once: [`Op`] names every method of
//! `UsageStore`, `TopUpStore`, `AlertStore`, `SubscriptionStore` and `OutboxStore` (provided
//! ones included), [`Ops`] is a set of them.
//!
//! A method added to one of those traits gets a line in the `ops!` list below; the
//! forwarding test of `FaultyStore` matches on every [`Op`] without a wildcard, so it stops
//! compiling until it calls the new method through the wrapper.

use std::fmt;
use std::ops::BitOr;

/// The trait an [`Op`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trait {
    /// `quota_core::UsageStore`.
    Usage,
    /// `quota_core::TopUpStore`.
    TopUp,
    /// `quota_core::AlertStore`.
    Alert,
    /// `quota_core::SubscriptionStore`.
    Subscription,
    /// `quota_core::outbox::OutboxStore`.
    Outbox,
}

macro_rules! ops {
    ($($op:ident => $method:literal in $trait:ident;)+) => {
        /// One method of the store traits.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Op {
            $(
                #[doc = concat!("`", stringify!($trait), "Store::", $method, "`.")]
                $op,
            )+
        }

        impl Op {
            /// Every operation, in declaration order (`Op::ALL[op as usize] == op`).
            pub const ALL: &'static [Op] = &[$(Op::$op),+];

            /// The method's name, e.g. `consume`.
            pub const fn method(self) -> &'static str {
                match self {
                    $(Op::$op => $method,)+
                }
            }

            /// The trait that declares the method.
            pub const fn of(self) -> Trait {
                match self {
                    $(Op::$op => Trait::$trait,)+
                }
            }
        }
    };
}

ops! {
    Consume => "consume" in Usage;
    InProcess => "in_process" in Usage;
    ConsumeNow => "consume_now" in Usage;
    Release => "release" in Usage;
    Usage => "usage" in Usage;
    DailyUsage => "daily_usage" in Usage;
    AdjustGauge => "adjust_gauge" in Usage;
    SetGauge => "set_gauge" in Usage;
    Gauge => "gauge" in Usage;
    ResetPeriod => "reset_period" in Usage;
    ResetCounter => "reset_counter" in Usage;
    Ping => "ping" in Usage;
    InsertTopup => "insert_topup" in TopUp;
    Topup => "topup" in TopUp;
    SetTopupStatus => "set_topup_status" in TopUp;
    Topups => "topups" in TopUp;
    RecentTopups => "recent_topups" in TopUp;
    ClaimAlert => "claim_alert" in Alert;
    ReleaseAlert => "release_alert" in Alert;
    ClaimedAlerts => "claimed_alerts" in Alert;
    AppendEvent => "append_event" in Alert;
    Events => "events" in Alert;
    PutSubscription => "put_subscription" in Subscription;
    Subscription => "subscription" in Subscription;
    Subscriptions => "subscriptions" in Subscription;
    Enqueue => "enqueue" in Outbox;
    ClaimDue => "claim_due" in Outbox;
    Ack => "ack" in Outbox;
    Reschedule => "reschedule" in Outbox;
    DeadLetter => "dead_letter" in Outbox;
    OutboxRecord => "outbox_record" in Outbox;
    OutboxRecords => "outbox_records" in Outbox;
    PurgeOutbox => "purge_outbox" in Outbox;
}

impl Op {
    /// How many operations there are.
    pub const COUNT: usize = Op::ALL.len();

    /// The position of the operation in [`Op::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    #[allow(clippy::arithmetic_side_effects)] // below 64, see the assertion on `Ops`
    const fn bit(self) -> u64 {
        1 << (self as u8)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method())
    }
}

/// A set of [`Op`]s: `Op::Consume | Op::Usage`, [`Ops::ALL`], [`Ops::of`] a trait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ops(u64);

const _: () = assert!(Op::COUNT <= 64, "Ops is a 64-bit set");

impl Ops {
    /// No operation.
    pub const NONE: Ops = Ops(0);
    /// Every operation.
    pub const ALL: Ops = Ops::of_all(None);
    /// The ways to consume: `consume`, and `in_process` / `consume_now` (an in-process
    /// store's synchronous consume).
    pub const CONSUME: Ops = Ops(Op::Consume.bit() | Op::InProcess.bit() | Op::ConsumeNow.bit());

    /// The operations of one trait.
    pub const fn of(which: Trait) -> Ops {
        Ops::of_all(Some(which))
    }

    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    const fn of_all(which: Option<Trait>) -> Ops {
        let mut bits = 0;
        let mut i = 0;
        while i < Op::COUNT {
            let op = Op::ALL[i];
            let wanted = match which {
                None => true,
                Some(t) => op.of() as u8 == t as u8,
            };
            if wanted {
                bits |= op.bit();
            }
            i += 1;
        }
        Ops(bits)
    }

    /// Whether `op` is in the set.
    pub const fn contains(self, op: Op) -> bool {
        self.0 & op.bit() != 0
    }

    /// The set without the operations of `other`.
    #[must_use]
    pub const fn without(self, other: Ops) -> Ops {
        Ops(self.0 & !other.0)
    }

    /// The operations of the set, in [`Op::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Op> {
        Op::ALL.iter().copied().filter(move |op| self.contains(*op))
    }
}

impl From<Op> for Ops {
    fn from(op: Op) -> Ops {
        Ops(op.bit())
    }
}

impl<T: Into<Ops>> BitOr<T> for Ops {
    type Output = Ops;
    fn bitor(self, rhs: T) -> Ops {
        Ops(self.0 | rhs.into().0)
    }
}

impl<T: Into<Ops>> BitOr<T> for Op {
    type Output = Ops;
    fn bitor(self, rhs: T) -> Ops {
        Ops::from(self) | rhs
    }
}
