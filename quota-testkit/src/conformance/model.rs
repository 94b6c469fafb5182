//! The reference model of a consume, which the property tests and the bounds case compare
//! every store with.

use quota_core::domain::MAX_UNITS;
use quota_core::store::{ConsumeOutcome, ConsumeRequest, Usage};

/// A model of [`UsageStore::consume`](quota_core::UsageStore::consume) without
/// idempotency: what every store must answer for `req` on a counter in state `usage`, and the
/// state after.
pub fn model_consume(usage: Usage, req: &ConsumeRequest<'_>) -> (ConsumeOutcome, Usage) {
    let limit = req.ceiling.map_or(MAX_UNITS, |c| {
        c.saturating_add(usage.topup_units).min(MAX_UNITS)
    });
    let after = usage
        .used
        .checked_add(req.quantity)
        .filter(|a| *a <= limit && *a <= MAX_UNITS);
    let Some(after) = after else {
        let out = ConsumeOutcome::new(false, usage.used, usage.topup_units, usage.overage_units, 0);
        return (out, usage);
    };
    let charged = req.free_units.map_or(0, |f| {
        let paid = f
            .saturating_add(usage.topup_units)
            .saturating_add(usage.overage_units)
            .min(MAX_UNITS);
        after.saturating_sub(usage.used.max(paid))
    });
    let overage = usage.overage_units + charged;
    let out = ConsumeOutcome::new(true, after, usage.topup_units, overage, charged);
    (out, Usage::new(after, usage.topup_units, overage))
}
