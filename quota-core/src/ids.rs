//! Identifier rules shared by brands, plans and metrics, and the bound of an idempotency key.
//!
//! Identifiers end up in Redis keys (inside a `{brand}` hash tag), SQL rows, URLs and
//! Prometheus labels, so their alphabet is deliberately small.

use crate::error::CatalogError;

/// Longest accepted brand id, in bytes.
pub const MAX_BRAND_ID_LEN: usize = 128;
/// Longest accepted metric key or plan id, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest accepted idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Checks a brand id: 1 to 128 bytes of ASCII letters, digits and `_ - . : @`.
///
/// ```
/// assert!(quota_core::ids::validate_brand_id("brand_dashboard").is_ok());
/// assert!(quota_core::ids::validate_brand_id("a{b}").is_err());
/// ```
pub fn validate_brand_id(value: &str) -> Result<(), CatalogError> {
    check(
        "brand id",
        value,
        MAX_BRAND_ID_LEN,
        |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':' | b'@'),
        "use 1 to 128 ASCII letters, digits or _ - . : @",
    )
}

/// Checks a metric key: 1 to 64 bytes of lower-case ASCII letters, digits and `_`, starting
/// with a letter.
pub fn validate_metric_key(value: &str) -> Result<(), CatalogError> {
    check(
        "metric key",
        value,
        MAX_KEY_LEN,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_',
        "use 1 to 64 lower-case ASCII letters, digits or _, starting with a letter",
    )?;
    first_is_letter("metric key", value)
}

/// Checks a plan id: like a metric key, `-` allowed too.
pub fn validate_plan_id(value: &str) -> Result<(), CatalogError> {
    check(
        "plan id",
        value,
        MAX_KEY_LEN,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-',
        "use 1 to 64 lower-case ASCII letters, digits, _ or -, starting with a letter",
    )?;
    first_is_letter("plan id", value)
}

fn first_is_letter(what: &'static str, value: &str) -> Result<(), CatalogError> {
    if value.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        Ok(())
    } else {
        Err(CatalogError::InvalidId {
            what,
            value: value.to_owned(),
            reason: "must start with a lower-case letter",
        })
    }
}

fn check(
    what: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(u8) -> bool,
    reason: &'static str,
) -> Result<(), CatalogError> {
    if value.is_empty() || value.len() > max || !value.bytes().all(allowed) {
        return Err(CatalogError::InvalidId {
            what,
            value: value.chars().take(max.saturating_add(8)).collect(),
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_ids_cannot_break_out_of_a_redis_hash_tag() {
        for bad in ["", "a b", "a{b", "a}b", "é", "x/y", &"a".repeat(129)] {
            assert!(validate_brand_id(bad).is_err(), "{bad:?}");
        }
        for good in [
            "brand_dashboard",
            "acme-co.eu",
            "org:42",
            "a@b",
            &"a".repeat(128),
        ] {
            assert!(validate_brand_id(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn metric_keys_are_snake_case() {
        assert!(validate_metric_key("ai_generations").is_ok());
        assert!(validate_metric_key("renders_2d").is_ok());
        for bad in ["", "2d", "AI", "a-b", "_x"] {
            assert!(validate_metric_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plan_ids_allow_hyphens() {
        assert!(validate_plan_id("pro-2026").is_ok());
        assert!(validate_plan_id("-pro").is_err());
    }
}
