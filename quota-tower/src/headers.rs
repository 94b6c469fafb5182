//! The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11) and the
//! overage annotations.
//!
//! Both fields are RFC 9651 lists of items whose bare item is the policy name as an sf-string:
//!
//! ```text
//! RateLimit-Policy: "quota";q=500;w=2592000, "burst";q=10;w=1
//! RateLimit: "quota";r=42;t=86400, "burst";r=9;t=1
//! ```
//!
//! `q` is the allowance of the period (included units plus completed top-ups), `w` the billing
//! period in seconds, `r` the units left (0 once in overage) and `t` the seconds until the
//! period resets. Gauges (seats) never reset, so they carry neither `w` nor `t`; unlimited
//! metrics carry no `"quota"` item.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

/// `RateLimit-Policy`: the quota policies that apply to the request.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`: the current state of each policy.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// Units of this request charged as overage (only on `allowed_with_overage`).
pub const QUOTA_OVERAGE_UNITS: HeaderName = HeaderName::from_static("quota-overage-units");
/// What this request adds to the period's overage charge, e.g. `0.30 EUR`.
pub const QUOTA_OVERAGE_CHARGE: HeaderName = HeaderName::from_static("quota-overage-charge");
/// The request header carrying an idempotency key, passed to `consume`.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The name of the billing-quota policy item.
pub const QUOTA_POLICY: &str = "quota";
/// The name of the burst policy item.
pub const BURST_POLICY: &str = "burst";

/// The billing quota as the headers show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuotaItem {
    pub(crate) limit: u64,
    pub(crate) window_secs: Option<u64>,
    pub(crate) remaining: u64,
    pub(crate) reset_secs: Option<u64>,
}

/// The burst limit as the headers show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BurstItem {
    pub(crate) max: u32,
    pub(crate) window_secs: u64,
    pub(crate) remaining: u32,
    pub(crate) reset_secs: u64,
}

fn finish(s: String) -> Option<HeaderValue> {
    if s.is_empty() {
        return None;
    }
    HeaderValue::from_maybe_shared(Bytes::from(s)).ok()
}

/// Appends `n` in decimal (`core::fmt` is measurably slower on this hot path).
fn push_u64(s: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while let Some(j) = i.checked_sub(1) {
        i = j;
        let digit = u8::try_from(n.checked_rem(10).unwrap_or(0)).unwrap_or(0);
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0'.saturating_add(digit);
        }
        n = n.checked_div(10).unwrap_or(0);
        if n == 0 {
            break;
        }
    }
    if let Some(digits) = buf.get(i..).and_then(|d| std::str::from_utf8(d).ok()) {
        s.push_str(digits);
    }
}

/// Appends `"name";k1=v1;k2=v2...`.
fn push_item(s: &mut String, name: &str, params: &[(&str, Option<u64>)]) {
    if !s.is_empty() {
        s.push_str(", ");
    }
    s.push('"');
    s.push_str(name);
    s.push('"');
    for (key, value) in params {
        if let Some(v) = value {
            s.push(';');
            s.push_str(key);
            s.push('=');
            push_u64(s, *v);
        }
    }
}

/// The `RateLimit-Policy` value; `None` when there is no policy to tell.
pub(crate) fn policy_value(
    quota: Option<&QuotaItem>,
    burst: Option<&BurstItem>,
) -> Option<HeaderValue> {
    let mut s = String::with_capacity(48);
    if let Some(q) = quota {
        push_item(
            &mut s,
            QUOTA_POLICY,
            &[("q", Some(q.limit)), ("w", q.window_secs)],
        );
    }
    if let Some(b) = burst {
        push_item(
            &mut s,
            BURST_POLICY,
            &[("q", Some(u64::from(b.max))), ("w", Some(b.window_secs))],
        );
    }
    finish(s)
}

/// The `RateLimit` value; `None` when there is no policy to tell.
pub(crate) fn ratelimit_value(
    quota: Option<&QuotaItem>,
    burst: Option<&BurstItem>,
) -> Option<HeaderValue> {
    let mut s = String::with_capacity(48);
    if let Some(q) = quota {
        push_item(
            &mut s,
            QUOTA_POLICY,
            &[("r", Some(q.remaining)), ("t", q.reset_secs)],
        );
    }
    if let Some(b) = burst {
        push_item(
            &mut s,
            BURST_POLICY,
            &[
                ("r", Some(u64::from(b.remaining))),
                ("t", Some(b.reset_secs)),
            ],
        );
    }
    finish(s)
}

/// A `delay-seconds` value (RFC 9110 `Retry-After`).
pub(crate) fn seconds_value(secs: u64) -> HeaderValue {
    HeaderValue::from(secs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_both_items_and_omits_what_a_gauge_lacks() {
        let q = QuotaItem {
            limit: 10,
            window_secs: None,
            remaining: 3,
            reset_secs: None,
        };
        let b = BurstItem {
            max: 5,
            window_secs: 1,
            remaining: 4,
            reset_secs: 1,
        };
        assert_eq!(
            policy_value(Some(&q), Some(&b)).unwrap(),
            "\"quota\";q=10, \"burst\";q=5;w=1"
        );
        assert_eq!(ratelimit_value(Some(&q), None).unwrap(), "\"quota\";r=3");
        assert!(policy_value(None, None).is_none());
    }

    #[test]
    fn writes_integers_like_display() {
        for n in [0, 1, 9, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
