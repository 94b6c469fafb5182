//! Whole numbers in request bodies. JSON Schema's `integer` admits `3.0` as well as `3`, so
//! the API reads both; a fraction, a value outside the field's type and anything that is not a
//! number are refused (422, like any body of the wrong shape).
//!
//! ```ignore
//! #[serde(deserialize_with = "whole::number")]
//! quantity: u64,
//! #[serde(default, deserialize_with = "whole::optional")]
//! topup: Option<u64>,
//! ```

use std::fmt;

use serde::Deserializer;
use serde::de::{Error, Unexpected, Visitor};

struct Whole;

impl Visitor<'_> for Whole {
    type Value = i128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }

    #[allow(clippy::cast_possible_truncation)]
    fn visit_f64<E: Error>(self, v: f64) -> Result<i128, E> {
        // Within ±2^100 an integral double converts to i128 exactly.
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e30 {
            Ok(v as i128)
        } else {
            Err(E::invalid_type(Unexpected::Float(v), &self))
        }
    }
}

fn in_range<T: TryFrom<i128>, E: Error>(n: i128) -> Result<T, E> {
    T::try_from(n).map_err(|_| {
        let shown = i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX });
        E::invalid_value(
            Unexpected::Signed(shown),
            &format!(
                "a whole number within the range of {}",
                std::any::type_name::<T>()
            )
            .as_str(),
        )
    })
}

/// Reads a whole number (`3` or `3.0`) into `T`.
pub(crate) fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    in_range(d.deserialize_any(Whole)?)
}

struct Optional;

impl<'de> Visitor<'de> for Optional {
    type Value = Option<i128>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Whole).map(Some)
    }
}

/// Reads `null` or a whole number into `Option<T>` (with `#[serde(default)]` for an absent
/// field).
pub(crate) fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    d.deserialize_option(Optional)?.map(in_range).transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::number")]
        n: u16,
        #[serde(default, deserialize_with = "super::optional")]
        o: Option<i64>,
    }

    fn read(json: &str) -> Option<(u16, Option<i64>)> {
        serde_json::from_str::<Body>(json).ok().map(|b| (b.n, b.o))
    }

    #[test]
    fn integral_numbers_in_either_notation_are_read() {
        assert_eq!(read(r#"{"n": 3}"#), Some((3, None)));
        assert_eq!(read(r#"{"n": 3.0, "o": -2.0}"#), Some((3, Some(-2))));
        assert_eq!(read(r#"{"n": 1e3, "o": null}"#), Some((1000, None)));
        assert_eq!(read(r#"{"n": -0.0}"#), Some((0, None)));
    }

    #[test]
    fn fractions_out_of_range_values_and_other_types_are_refused() {
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 65536}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "3"}"#,
            r#"{"n": null}"#,
            r#"{"n": 1, "o": 0.5}"#,
            r#"{"n": 1, "o": 18446744073709551615}"#,
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
