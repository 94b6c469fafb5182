#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! Properties of the token format: whatever is signed verifies back to the same claims, with
//! any key of the ring; no input panics the verifier; and nothing but a genuine token gets
//! through, refused for the reason a forgery has (never as a genuine-but-gone token).

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use quota_share::token::{self, ShareClaims};
use quota_share::{ShareKey, ShareKeyring, ShareTokenError};

fn ring() -> ShareKeyring {
    ShareKeyring::new(ShareKey::new("k1", [1u8; 32]).unwrap())
        .rotate(ShareKey::new("k2", [2u8; 32]).unwrap())
        .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
}

fn genuine() -> String {
    let claims = ShareClaims::new("sh_0123", "brand_dashboard", 1_700_000_000, 4_102_444_800);
    token::sign(ring().active(), &claims)
}

/// The refusals a token that was never signed by us gets: all of them 404s, none a 410.
fn is_forgery_refusal(e: &ShareTokenError) -> bool {
    !e.is_gone()
        && !e.is_unavailable()
        && matches!(
            e,
            ShareTokenError::Malformed(_)
                | ShareTokenError::Unsigned
                | ShareTokenError::BadSignature
                | ShareTokenError::UnknownKid
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn signed_claims_verify_back_unchanged_with_either_key(
        jti in "sh_[0-9a-f]{1,32}",
        brand in "\\PC{1,64}",
        iat in 0i64..4_000_000_000,
        ttl in 1i64..10_000_000,
        with_k2 in any::<bool>(),
    ) {
        let exp = now().timestamp() + ttl;
        let claims = ShareClaims::new(jti, brand, iat, exp);
        // k2 is the active key; k1, the previous one, still verifies during the rotation.
        let key = if with_k2 {
            ShareKey::new("k2", [2u8; 32]).unwrap()
        } else {
            ShareKey::new("k1", [1u8; 32]).unwrap()
        };
        let signed = token::sign(&key, &claims);
        prop_assert_eq!(token::verify(&ring(), &signed, now()).unwrap(), claims.clone());
        // It expires at `exp`, not a second later nor earlier.
        let at_exp = Utc.timestamp_opt(exp, 0).unwrap();
        let expired = token::verify(&ring(), &signed, at_exp).unwrap_err();
        let gone_at = match expired {
            ShareTokenError::Expired { expired_at } => Some(expired_at),
            _ => None,
        };
        prop_assert_eq!(gone_at, Some(at_exp));
        prop_assert_eq!(
            token::verify(&ring(), &signed, at_exp - chrono::Duration::seconds(1)).unwrap(),
            claims
        );
    }

    #[test]
    fn random_strings_are_refused_as_forgeries(s in any::<String>()) {
        let err = token::verify(&ring(), &s, now()).unwrap_err();
        prop_assert!(is_forgery_refusal(&err), "{err:?}");
    }

    #[test]
    fn token_shaped_strings_are_refused_as_forgeries(
        h in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,120}", s in "[A-Za-z0-9_-]{0,50}"
    ) {
        let tok = format!("{h}.{c}.{s}");
        let err = token::verify(&ring(), &tok, now()).unwrap_err();
        prop_assert!(is_forgery_refusal(&err), "{err:?}");
    }

    #[test]
    fn a_mutated_genuine_token_is_refused_as_a_forgery(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        op in 0u8..3,
    ) {
        let original = genuine();
        let mut bytes = original.clone().into_bytes();
        let i = pos.index(bytes.len());
        match op {
            0 => bytes[i] = byte,
            1 => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        // Overwriting a byte with itself is no mutation.
        prop_assume!(mutated != original);
        let err = token::verify(&ring(), &mutated, now()).unwrap_err();
        prop_assert!(is_forgery_refusal(&err), "{mutated}: {err:?}");
    }
}

#[test]
fn the_genuine_token_of_the_mutations_verifies() {
    let claims = token::verify(&ring(), &genuine(), now()).unwrap();
    assert_eq!(claims.jti, "sh_0123");
    assert_eq!(claims.brand, "brand_dashboard");
}
