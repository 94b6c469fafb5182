//! Overage math: how many units are past the allowance and what they cost.

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::domain::MAX_MONEY_MINOR;
use crate::money::{Currency, Money};

/// What happens past the included units of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "policy", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OveragePolicy {
    /// Hard limit: the unit past the allowance (plus grace) is denied.
    Block,
    /// Soft limit, pay as you go: `unit_price` minor units per started block of `per_units`
    /// units, up to `cap` minor units per period (then further use is denied).
    #[serde(rename_all = "camelCase")]
    Charge {
        /// Price of one block, in minor units of the catalog currency.
        unit_price: u64,
        /// Units per block (at least 1).
        #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 1))]
        per_units: NonZeroU64,
        /// Optional spend cap per period, in minor units.
        cap: Option<u64>,
    },
}

impl OveragePolicy {
    /// Whether units past the allowance are sold (and so top-ups accepted).
    pub fn charges(&self) -> bool {
        matches!(self, OveragePolicy::Charge { .. })
    }

    /// The most units past the free allowance this policy admits in one period:
    /// 0 for `Block`, `None` (no bound) for an uncapped charge.
    pub fn max_billable_units(&self) -> Option<u64> {
        match *self {
            OveragePolicy::Block => Some(0),
            OveragePolicy::Charge { unit_price: 0, .. } => None,
            OveragePolicy::Charge {
                unit_price,
                per_units,
                cap,
            } => {
                // Without a spend cap, the domain's bound on one charge is the cap.
                let cap = cap.unwrap_or(MAX_MONEY_MINOR).min(MAX_MONEY_MINOR);
                let blocks = u128::from(cap.checked_div(unit_price).unwrap_or(0));
                let units = blocks.saturating_mul(u128::from(per_units.get()));
                Some(u64::try_from(units).unwrap_or(u64::MAX))
            }
        }
    }

    /// The charge for `units` billable units under this policy (zero for `Block`).
    ///
    /// ```
    /// use std::num::NonZeroU64;
    /// use quota_core::{Currency, OveragePolicy};
    /// let p = OveragePolicy::Charge { unit_price: 50, per_units: NonZeroU64::new(10).unwrap(), cap: Some(120) };
    /// assert_eq!(p.charge(0, Currency::EUR).amount_minor, 0);
    /// assert_eq!(p.charge(1, Currency::EUR).amount_minor, 50);   // a started block is due
    /// assert_eq!(p.charge(20, Currency::EUR).amount_minor, 100);
    /// assert_eq!(p.charge(1000, Currency::EUR).amount_minor, 120); // capped
    /// ```
    pub fn charge(&self, units: u64, currency: Currency) -> Money {
        match *self {
            OveragePolicy::Block => Money::zero(currency),
            OveragePolicy::Charge {
                unit_price,
                per_units,
                cap,
            } => {
                let blocks = u128::from(units).div_ceil(u128::from(per_units.get()));
                let cap = cap.unwrap_or(MAX_MONEY_MINOR).min(MAX_MONEY_MINOR);
                // At most 10^15: exact in an i64 (and in a double).
                let amount = blocks
                    .saturating_mul(u128::from(unit_price))
                    .min(u128::from(cap));
                Money::from_u128(amount, currency)
            }
        }
    }
}

/// Units of `used` past `free_units` (saturating at zero).
pub(crate) fn overage_units(used: u64, free_units: u64) -> u64 {
    used.saturating_sub(free_units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(unit_price: u64, per: u64, cap: Option<u64>) -> OveragePolicy {
        OveragePolicy::Charge {
            unit_price,
            per_units: NonZeroU64::new(per).unwrap(),
            cap,
        }
    }

    #[test]
    fn a_capped_charge_bounds_billable_units() {
        assert_eq!(charge(5, 1, Some(100)).max_billable_units(), Some(20));
        assert_eq!(charge(50, 10, Some(120)).max_billable_units(), Some(20));
        assert_eq!(OveragePolicy::Block.max_billable_units(), Some(0));
    }

    #[test]
    fn a_charge_never_passes_the_domains_bound() {
        let p = charge(MAX_MONEY_MINOR, 1, None);
        let bound = i64::try_from(MAX_MONEY_MINOR).unwrap();
        assert_eq!(p.charge(u64::MAX, Currency::EUR).amount_minor, bound);
        // Without a spend cap, the bound acts as one: the units it allows are billable.
        assert_eq!(
            charge(5, 1, None).max_billable_units(),
            Some(MAX_MONEY_MINOR / 5)
        );
        assert_eq!(charge(0, 1, None).max_billable_units(), None);
    }

    #[test]
    fn overage_units_saturate_at_zero() {
        assert_eq!(overage_units(5, 10), 0);
        assert_eq!(overage_units(15, 10), 5);
    }
}
