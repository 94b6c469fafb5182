//! The numeric domain: the bounds every quantity, total and amount stays within.
//!
//! A quota system is only worth what its numbers are worth, so no counter, allowance or
//! amount may wrap or silently saturate. Instead every value has a documented bound that is
//! checked where it enters (a request, a catalog, a top-up), and every store keeps its
//! totals within it:
//!
//! | value | bound |
//! |---|---|
//! | units of one request | the metric's `maxPerRequest` (default [`DEFAULT_MAX_PER_REQUEST`], at most [`MAX_UNITS`]) |
//! | a counter's period total, a gauge's level, an allowance (included + top-ups) | [`MAX_UNITS`] |
//! | units of one top-up | [`MAX_TOPUP_UNITS`]; a checkout: the metric's `maxTopupUnits` (default [`DEFAULT_MAX_TOPUP_UNITS`]) |
//! | a price, a unit price, a spend cap, one metric's overage charge of a period | [`MAX_MONEY_MINOR`] |
//! | metrics in a catalog | [`MAX_METRICS`] |
//!
//! [`MAX_UNITS`] is 10^15: far above any real usage (10^15 units a month is 380 million a
//! second) and below 2^53, so every count is exact in a JSON number read by JavaScript and
//! in a Lua (double) number on Redis. Money is bounded the same way; a plan's total (price
//! plus every metric's overage) stays below `i64::MAX` because a catalog has at most
//! [`MAX_METRICS`] metrics.
//!
//! A request outside the domain is refused with [`crate::QuotaError::QuantityTooLarge`]
//! (HTTP 422) and changes nothing; a consume that would take a total past [`MAX_UNITS`] is
//! denied like any consume that does not fit.

/// The most units a counter can hold in one period, a gauge's highest level, and the highest
/// allowance (included units plus top-ups): 10^15.
pub const MAX_UNITS: u64 = 1_000_000_000_000_000;

/// The per-request ceiling of a metric that does not set `maxPerRequest`: 10^9 units.
pub const DEFAULT_MAX_PER_REQUEST: u64 = 1_000_000_000;

/// The most units one top-up may add: 10^9.
pub const MAX_TOPUP_UNITS: u64 = 1_000_000_000;

/// The most units one top-up checkout may buy of a metric that does not set
/// `maxTopupUnits`: 10^6 units.
pub const DEFAULT_MAX_TOPUP_UNITS: u64 = 1_000_000;

/// Longest metric name (in any language of the catalog's `names`), in characters.
pub const MAX_METRIC_NAME: usize = 120;

/// The highest amount in minor units of a price, a unit price, a spend cap, and of one
/// metric's overage charge in a period (a charge without a spend cap is capped here): 10^15.
pub const MAX_MONEY_MINOR: u64 = 1_000_000_000_000_000;

/// The most metrics a catalog may declare.
pub const MAX_METRICS: usize = 64;

/// `a + b` when the sum stays within [`MAX_UNITS`].
#[inline]
pub fn add_units(a: u64, b: u64) -> Option<u64> {
    a.checked_add(b).filter(|s| *s <= MAX_UNITS)
}

/// `a + b`, clamped to [`MAX_UNITS`]: for bounds (a ceiling plus top-ups), where a larger
/// bound could not be reached anyway.
#[inline]
pub fn bound_units(a: u64, b: u64) -> u64 {
    a.saturating_add(b).min(MAX_UNITS)
}

// Every bound is exact in a double, and a plan's total (price + one charge per metric, each
// within MAX_MONEY_MINOR) fits an i64: checked when the crate compiles.
const _: () = assert!(MAX_UNITS < 1 << 53 && MAX_MONEY_MINOR < 1 << 53);
const _: () = assert!((MAX_METRICS as u128 + 1) * (MAX_MONEY_MINOR as u128) < i64::MAX as u128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_sums_are_checked_against_the_domain() {
        assert_eq!(add_units(MAX_UNITS - 1, 1), Some(MAX_UNITS));
        assert_eq!(add_units(MAX_UNITS, 1), None);
        assert_eq!(add_units(u64::MAX, 1), None);
        assert_eq!(bound_units(MAX_UNITS, 5), MAX_UNITS);
        assert_eq!(bound_units(3, 4), 7);
    }
}
