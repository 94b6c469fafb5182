#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! Fuzz-like properties: no input panics the verifier, and no change to a genuine token
//! gets through.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use quota_share::token::{self, ShareClaims};
use quota_share::{ShareKey, ShareKeyring};

fn ring() -> ShareKeyring {
    ShareKeyring::new(ShareKey::new("k1", [1u8; 32]).unwrap())
        .rotate(ShareKey::new("k2", [2u8; 32]).unwrap())
        .unwrap()
}

fn genuine() -> String {
    let claims = ShareClaims::new("sh_0123", "brand_dashboard", 1_700_000_000, 4_102_444_800);
    token::sign(ring().active(), &claims)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_strings_never_verify_nor_panic(s in any::<String>()) {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        prop_assert!(token::verify(&ring(), &s, now).is_err());
    }

    #[test]
    fn token_shaped_strings_never_verify(
        h in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,120}", s in "[A-Za-z0-9_-]{0,50}"
    ) {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let tok = format!("{h}.{c}.{s}");
        prop_assert!(token::verify(&ring(), &tok, now).is_err());
    }

    #[test]
    fn a_mutated_genuine_token_never_verifies(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        op in 0u8..3,
    ) {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let original = genuine();
        prop_assert!(token::verify(&ring(), &original, now).is_ok());
        let mut bytes = original.clone().into_bytes();
        let i = pos.index(bytes.len());
        match op {
            0 => bytes[i] = byte,
            1 => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        if mutated != original {
            prop_assert!(token::verify(&ring(), &mutated, now).is_err(), "{mutated}");
        }
    }
}
