//! Money as integer minor units plus an ISO 4217 currency code. Never floats.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CatalogError;

/// An ISO 4217 alphabetic currency code (three ASCII upper-case letters), e.g. `EUR`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Z]{3}$"))]
pub struct Currency([u8; 3]);

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a currency code; only the shape (three upper-case ASCII letters) is checked.
    ///
    /// ```
    /// use quota_core::Currency;
    /// assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
    /// assert!(Currency::parse("euro").is_err());
    /// ```
    pub fn parse(code: &str) -> Result<Self, CatalogError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(CatalogError::InvalidCurrency(code.to_owned())),
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // The bytes are checked ASCII upper-case letters at construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimal places of the minor unit (0 for JPY, KRW, ..., 2 otherwise).
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" | b"XAF" | b"XOF" | b"UGX" | b"PYG" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"LYD" | b"IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in minor units (cents for EUR) of one currency.
///
/// Amounts are signed so that differences (a saving or an extra cost) are representable;
/// arithmetic saturates instead of overflowing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub const fn new(amount_minor: i64, currency: Currency) -> Self {
        Money {
            amount_minor,
            currency,
        }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    /// Builds an amount from an unsigned minor-unit count, saturating at `i64::MAX`.
    pub fn from_u128(amount_minor: u128, currency: Currency) -> Self {
        Money::new(i64::try_from(amount_minor).unwrap_or(i64::MAX), currency)
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount_minor == 0
    }

    /// Saturating sum of two amounts of the same currency (the currency of `self` wins; the
    /// catalog guarantees a single currency).
    #[must_use]
    pub fn saturating_add(self, other: Money) -> Money {
        Money::new(
            self.amount_minor.saturating_add(other.amount_minor),
            self.currency,
        )
    }

    /// Saturating difference `self - other`.
    #[must_use]
    pub fn saturating_sub(self, other: Money) -> Money {
        Money::new(
            self.amount_minor.saturating_sub(other.amount_minor),
            self.currency,
        )
    }
}

impl fmt::Display for Money {
    /// Formats as `29.00 EUR` (decimal point, code after the amount).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        if exp == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.saturating_pow(exp);
        let whole = abs.checked_div(scale).unwrap_or(abs);
        let frac = abs.checked_rem(scale).unwrap_or(0);
        write!(
            f,
            "{sign}{whole}.{frac:0width$} {}",
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_with_the_currency_exponent() {
        assert_eq!(Money::new(2900, Currency::EUR).to_string(), "29.00 EUR");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(500, jpy).to_string(), "500 JPY");
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let max = Money::new(i64::MAX, Currency::EUR);
        assert_eq!(max.saturating_add(max).amount_minor, i64::MAX);
        assert_eq!(
            Money::from_u128(u128::MAX, Currency::EUR).amount_minor,
            i64::MAX
        );
    }

    #[test]
    fn rejects_malformed_currency_codes() {
        for bad in ["", "EU", "EURO", "eur", "E1R", "€€€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
