//! One counter of one period: its totals, day buckets and alert claims.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use crate::CounterSlot;
use crate::store::{ConsumeOutcome, ConsumeRequest, Usage};

/// A counter behind its own lock, shared by the brand's data and the guard's
/// [`CounterSlot`]s: a slot consumes without the brand's lock, every other operation takes
/// the brand's lock first and then this one (always in that order).
///
/// Aligned to a cache line so that a consume reads one line (the lock and the totals), not
/// the `Arc`'s counts.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(super) struct CounterCell(Mutex<Counter>);

impl CounterCell {
    pub(super) fn lock(&self) -> MutexGuard<'_, Counter> {
        super::lock(&self.0)
    }
}

impl CounterSlot for CounterCell {
    #[inline]
    fn consume(&self, req: &ConsumeRequest<'_>) -> Option<ConsumeOutcome> {
        let mut counter = self.lock();
        if counter.dropped {
            return None;
        }
        Some(counter.check_and_add(req))
    }
}

/// A counter: the fields a consume reads and writes (totals, today's bucket) first.
#[derive(Debug, Default)]
pub(super) struct Counter {
    pub(super) used: u64,
    pub(super) topup_units: u64,
    pub(super) overage: u64,
    pub(super) days: Days,
    /// Set when the store drops the counter (its period left the kept window): a slot that
    /// still holds it must not count into it.
    pub(super) dropped: bool,
    pub(super) claims: BTreeSet<u16>,
}

impl Counter {
    /// The check-and-add itself (no idempotency: the caller handles keys).
    pub(super) fn check_and_add(&mut self, req: &ConsumeRequest<'_>) -> ConsumeOutcome {
        let admitted = self
            .usage()
            .admit(req.quantity, req.ceiling, req.free_units);
        let Some((after, charged)) = admitted else {
            return ConsumeOutcome::new(false, self.used, self.topup_units, self.overage, 0);
        };
        self.used = after;
        // Within the domain: overage units never exceed the units used.
        self.overage = self.overage.saturating_add(charged).min(after);
        let bucket = self.days.bucket_mut(req.day);
        *bucket = bucket.saturating_add(req.quantity);
        ConsumeOutcome::new(true, after, self.topup_units, self.overage, charged)
    }

    pub(super) fn usage(&self) -> Usage {
        Usage::new(self.used, self.topup_units, self.overage)
    }

    /// Gives back up to `quantity` units from the total, the overage and `day`'s bucket.
    pub(super) fn release(&mut self, quantity: u64, day: u16) -> Usage {
        let given_back = quantity.min(self.used);
        self.used = self.used.saturating_sub(given_back);
        self.overage = self.overage.saturating_sub(given_back);
        let bucket = self.days.bucket_mut(day);
        *bucket = bucket.saturating_sub(given_back);
        self.usage()
    }

    /// Forgets the period's usage (top-up units stay).
    pub(super) fn clear_usage(&mut self) {
        self.used = 0;
        self.overage = 0;
        self.days.clear();
        self.claims.clear();
    }
}

/// A counter's daily buckets. The bucket being written (`today`) lives apart, next to the
/// counter's totals, and goes back into the list when another day is written: the hot path
/// adds to a field of the line it already holds.
#[derive(Debug, Default)]
#[repr(C)]
pub(super) struct Days {
    /// The bucket of day `today` (its slot in `others` is not used meanwhile).
    today_units: u64,
    today: u16,
    /// Whether `today` holds a day (else nothing was written yet).
    started: bool,
    others: Vec<u64>,
}

impl Days {
    /// The day's bucket; the list grows (with zeros) to include it.
    #[inline]
    pub(super) fn bucket_mut(&mut self, day: u16) -> &mut u64 {
        if !self.started || day != self.today {
            self.switch_to(day);
        }
        &mut self.today_units
    }

    /// Makes `day` the bucket kept apart (once a day per counter, or for a late writer).
    #[cold]
    #[inline(never)]
    fn switch_to(&mut self, day: u16) {
        self.park();
        self.today_units = self
            .others
            .get_mut(usize::from(day))
            .map(std::mem::take)
            .unwrap_or(0);
        self.today = day;
        self.started = true;
    }

    /// Puts today's bucket back into the list.
    fn park(&mut self) {
        if self.started {
            *slot(&mut self.others, self.today) = self.today_units;
        }
    }

    pub(super) fn to_vec(&self) -> Vec<u64> {
        let mut all = self.others.clone();
        if self.started {
            *slot(&mut all, self.today) = self.today_units;
        }
        all
    }

    pub(super) fn clear(&mut self) {
        *self = Days::default();
    }
}

/// The list's slot for `day`, growing the list with zeros to include it.
fn slot(list: &mut Vec<u64>, day: u16) -> &mut u64 {
    let at = usize::from(day);
    if list.len() <= at {
        list.resize(at.saturating_add(1), 0);
    }
    match list.get_mut(at) {
        Some(b) => b,
        None => unreachable!("resized above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_buckets_grow_like_a_list_whichever_day_is_written() {
        let mut days = Days::default();
        assert!(days.to_vec().is_empty());
        *days.bucket_mut(2) += 5;
        assert_eq!(days.to_vec(), [0, 0, 5]);
        *days.bucket_mut(40) += 7;
        let mut want = vec![0; 41];
        want[2] = 5;
        want[40] = 7;
        assert_eq!(days.to_vec(), want);
        // Back to an earlier day (a late writer) and forth again: nothing is lost.
        *days.bucket_mut(2) += 1;
        *days.bucket_mut(40) += 1;
        *days.bucket_mut(0) += 1;
        want[0] = 1;
        want[2] = 6;
        want[40] = 8;
        assert_eq!(days.to_vec(), want);
        // A release on a day written before sees that day's whole bucket.
        let b = days.bucket_mut(2);
        *b = b.saturating_sub(10);
        want[2] = 0;
        assert_eq!(days.to_vec(), want);
        days.clear();
        assert!(days.to_vec().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn day_buckets_behave_like_a_plain_list(
            writes in proptest::collection::vec((0u16..64, 0u64..1000, proptest::bool::ANY), 0..200)
        ) {
            let mut days = Days::default();
            let mut model: Vec<u64> = Vec::new();
            for (day, units, add) in writes {
                let at = usize::from(day);
                if model.len() <= at {
                    model.resize(at + 1, 0);
                }
                let b = days.bucket_mut(day);
                if add {
                    *b = b.saturating_add(units);
                    model[at] = model[at].saturating_add(units);
                } else {
                    *b = b.saturating_sub(units);
                    model[at] = model[at].saturating_sub(units);
                }
                proptest::prop_assert_eq!(days.to_vec(), model.clone());
            }
        }
    }
}
