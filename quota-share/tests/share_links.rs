#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! Share links as a specification: issue, verify, expire, revoke, rotate, refuse forgeries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use quota_core::StoreError;
use quota_core::clock::FakeClock;
use quota_share::token::{self, ShareClaims};
use quota_share::{
    ConfigError, MemoryRevocations, ShareIssuer, ShareKey, ShareKeyring, ShareRevocations,
    ShareTokenError, ShareTtl, verify_and_check,
};

const FRONTEND: &str = "http://localhost:3000";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

fn key(kid: &str, byte: u8) -> ShareKey {
    ShareKey::new(kid, [byte; 32]).unwrap()
}

fn issuer_with(ring: ShareKeyring, clock: &FakeClock) -> ShareIssuer {
    ShareIssuer::new(
        Arc::new(ring),
        ShareTtl::default(),
        FRONTEND,
        Arc::new(clock.clone()),
    )
    .unwrap()
}

fn setup() -> (FakeClock, ShareIssuer, MemoryRevocations) {
    let clock = FakeClock::at(t0());
    let issuer = issuer_with(ShareKeyring::new(key("k1", 1)), &clock);
    (clock, issuer, MemoryRevocations::new())
}

#[tokio::test]
async fn an_issued_link_opens_its_brand_snapshot() {
    let (_, issuer, rev) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    assert_eq!(link.url, format!("{FRONTEND}/share/quota/{}", link.token));
    assert!(link.id.starts_with("sh_") && link.id.len() == 35);
    assert_eq!(link.expires_at, t0() + chrono::Duration::days(7));
    let claims = issuer.verify(&rev, &link.token).await.unwrap();
    assert_eq!(claims.brand, "brand_dashboard");
    assert_eq!(claims.jti, link.id);
    assert_eq!(claims.scope, "snapshot:read");
    assert_eq!(claims.issued_at(), t0());
    assert_eq!(claims.expires_at(), link.expires_at);
}

#[tokio::test]
async fn two_links_have_distinct_ids_and_tokens() {
    let (_, issuer, _) = setup();
    let a = issuer.issue("brand_dashboard", None).unwrap();
    let b = issuer.issue("brand_dashboard", None).unwrap();
    assert_ne!(a.id, b.id);
    assert_ne!(a.token, b.token);
}

#[test]
fn the_token_is_a_jws_hs256_with_a_kid_header() {
    let (_, issuer, _) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    let parts: Vec<&str> = link.token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 32);
    // URL-safe: no character needs escaping in a path segment.
    assert!(
        link.token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    );
}

#[test]
fn the_signature_is_hmac_sha256_over_header_dot_claims() {
    // Independent recomputation with the hmac crate, as any JWT library would do it.
    use hmac::{Hmac, Mac};
    let k = key("k1", 7);
    let claims = ShareClaims::new("sh_1", "acme", 1_800_000_000, 1_800_000_060);
    let tok = token::sign(&k, &claims);
    let (signed, sig) = tok.rsplit_once('.').unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&[7u8; 32]).unwrap();
    mac.update(signed.as_bytes());
    assert_eq!(
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
        sig,
        "HS256 over the first two parts"
    );
}

#[tokio::test]
async fn a_link_expires_after_its_ttl_and_reads_as_gone() {
    let (clock, issuer, rev) = setup();
    let link = issuer
        .issue("brand_dashboard", Some(Duration::from_millis(2_500)))
        .unwrap();
    // Rounded up to the whole second.
    assert_eq!(link.expires_at, t0() + chrono::Duration::seconds(3));
    clock.advance(chrono::Duration::milliseconds(2_999));
    let claims = issuer.verify(&rev, &link.token).await.unwrap();
    assert_eq!(claims.jti, link.id);
    clock.advance(chrono::Duration::milliseconds(1));
    let err = issuer.verify(&rev, &link.token).await.unwrap_err();
    assert!(
        matches!(err, ShareTokenError::Expired { expired_at } if expired_at == link.expires_at)
    );
    assert!(err.is_gone());
}

#[tokio::test]
async fn a_requested_ttl_is_capped_at_thirty_days() {
    let (_, issuer, _) = setup();
    let link = issuer
        .issue(
            "brand_dashboard",
            Some(Duration::from_secs(365 * 24 * 3600)),
        )
        .unwrap();
    assert_eq!(link.expires_at, t0() + chrono::Duration::days(30));
    assert!(matches!(
        issuer.issue("brand_dashboard", Some(Duration::ZERO)),
        Err(quota_share::IssueError::InvalidTtl)
    ));
}

#[test]
fn a_bad_brand_id_gets_no_link() {
    let (_, issuer, _) = setup();
    assert!(matches!(
        issuer.issue("", None),
        Err(quota_share::IssueError::InvalidBrand(_))
    ));
}

#[tokio::test]
async fn a_revoked_link_is_refused_as_gone() {
    let (_, issuer, rev) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    let other = issuer.issue("brand_dashboard", None).unwrap();
    issuer.revoke(&rev, &link.id).await.unwrap();
    let err = issuer.verify(&rev, &link.token).await.unwrap_err();
    assert!(matches!(err, ShareTokenError::Revoked));
    assert!(err.is_gone());
    // Revocation is per link.
    let claims = issuer.verify(&rev, &other.token).await.unwrap();
    assert_eq!(claims.jti, other.id);
}

#[tokio::test]
async fn the_runbook_unsigned_base64_json_token_is_refused() {
    let (_, issuer, rev) = setup();
    let payload = r#"{"brandId":"brand_dashboard","scope":"snapshot:read","exp":4102444800000}"#;
    for tok in [
        STANDARD.encode(payload),
        URL_SAFE_NO_PAD.encode(payload),
        // alg none, no signature.
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        ),
        // HS256 header but the signature part left empty.
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        ),
    ] {
        let err = issuer.verify(&rev, &tok).await.unwrap_err();
        assert!(matches!(err, ShareTokenError::Unsigned), "{tok}: {err:?}");
        assert!(!err.is_gone());
    }
}

#[tokio::test]
async fn a_tampered_token_is_refused_with_bad_signature() {
    let (_, issuer, rev) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    let parts: Vec<&str> = link.token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["brand"] = "brand_other".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert!(matches!(
        issuer.verify(&rev, &forged).await,
        Err(ShareTokenError::BadSignature)
    ));
    // Swapping the signature of another genuine token does not help either.
    let other = issuer.issue("brand_other", None).unwrap();
    let spliced = format!(
        "{}.{}",
        link.token.rsplit_once('.').unwrap().0,
        other.token.rsplit_once('.').unwrap().1
    );
    assert!(matches!(
        issuer.verify(&rev, &spliced).await,
        Err(ShareTokenError::BadSignature)
    ));
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let (clock, issuer, rev) = setup();
    // Same kid, another secret: bad signature.
    let impostor = issuer_with(ShareKeyring::new(key("k1", 9)), &clock);
    let tok = impostor.issue("brand_dashboard", None).unwrap().token;
    assert!(matches!(
        issuer.verify(&rev, &tok).await,
        Err(ShareTokenError::BadSignature)
    ));
    // A kid we do not hold.
    let stranger = issuer_with(ShareKeyring::new(key("kx", 9)), &clock);
    let tok = stranger.issue("brand_dashboard", None).unwrap().token;
    assert!(matches!(
        issuer.verify(&rev, &tok).await,
        Err(ShareTokenError::UnknownKid)
    ));
}

#[tokio::test]
async fn a_token_of_another_scope_is_refused() {
    let (clock, _, rev) = setup();
    let ring = ShareKeyring::new(key("k1", 1));
    let mut claims = ShareClaims::new("sh_x", "brand_dashboard", t0().timestamp(), 4_102_444_800);
    claims.scope = "snapshot:write".into();
    let tok = token::sign(ring.active(), &claims);
    let err = verify_and_check(&ring, &rev, &tok, quota_core::Clock::now(&clock))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ShareTokenError::WrongScope { expected: "snapshot:read", found } if found == "snapshot:write")
    );
}

#[tokio::test]
async fn a_token_of_the_previous_key_still_works_during_rotation() {
    let clock = FakeClock::at(t0());
    let rev = MemoryRevocations::new();
    let before = issuer_with(ShareKeyring::new(key("k1", 1)), &clock);
    let old = before.issue("brand_dashboard", None).unwrap();

    let rotated = ShareKeyring::new(key("k1", 1))
        .rotate(key("k2", 2))
        .unwrap();
    let after = issuer_with(rotated.clone(), &clock);
    let new = after.issue("brand_dashboard", None).unwrap();
    assert!(
        new.token
            .starts_with(&URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"k2"}"#))
    );
    assert_eq!(after.verify(&rev, &old.token).await.unwrap().jti, old.id);
    assert_eq!(after.verify(&rev, &new.token).await.unwrap().jti, new.id);
    // The old key only verifies: it never signs again, and its tokens still expire.
    clock.advance(chrono::Duration::days(7));
    assert!(matches!(
        after.verify(&rev, &old.token).await,
        Err(ShareTokenError::Expired { .. })
    ));
    // Once retired, its tokens name an unknown key.
    let mut retired = rotated;
    assert!(retired.retire("k1"));
    assert!(!retired.retire("k2"), "the active key cannot be retired");
    clock.set(t0());
    assert!(matches!(
        verify_and_check(&retired, &rev, &old.token, t0()).await,
        Err(ShareTokenError::UnknownKid)
    ));
}

#[derive(Debug)]
struct DownRevocations;

#[async_trait]
impl ShareRevocations for DownRevocations {
    async fn revoke(&self, _: &str, _: DateTime<Utc>) -> Result<(), StoreError> {
        Err(StoreError::Timeout(Duration::from_millis(50)))
    }
    async fn is_revoked(&self, _: &str) -> Result<bool, StoreError> {
        Err(StoreError::Timeout(Duration::from_millis(50)))
    }
}

#[tokio::test]
async fn a_revocation_store_that_is_down_shows_no_data() {
    let (_, issuer, _) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    let err = issuer
        .verify(&DownRevocations, &link.token)
        .await
        .unwrap_err();
    assert!(err.is_unavailable());
    assert!(!err.is_gone());
}

#[tokio::test]
async fn memory_revocations_keep_the_later_until_and_purge_expired_entries() {
    let rev = MemoryRevocations::new();
    rev.revoke("a", t0()).await.unwrap();
    rev.revoke("a", t0() + chrono::Duration::days(2))
        .await
        .unwrap();
    rev.revoke("a", t0() + chrono::Duration::days(1))
        .await
        .unwrap();
    rev.revoke("b", t0() + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(rev.len(), 2);
    assert_eq!(rev.purge_expired(t0() + chrono::Duration::days(1)), 1);
    assert!(rev.is_revoked("a").await.unwrap());
    assert!(!rev.is_revoked("b").await.unwrap());
    // Usable as a trait object.
    let dynamic: Arc<dyn ShareRevocations> = Arc::new(rev);
    assert!(dynamic.is_revoked("a").await.unwrap());
}

#[test]
fn the_ttl_comes_from_quota_share_ttl_ms_with_a_default_and_a_cap() {
    let ttl = ShareTtl::from_env_value(None).unwrap();
    assert_eq!(ttl.default_ttl(), Duration::from_secs(7 * 24 * 3600));
    assert_eq!(ttl.cap(), Duration::from_secs(30 * 24 * 3600));
    assert_eq!(ShareTtl::from_env_value(Some("")).unwrap(), ttl);
    assert_eq!(
        ShareTtl::from_env_value(Some("60000"))
            .unwrap()
            .default_ttl(),
        Duration::from_secs(60)
    );
    assert_eq!(
        ShareTtl::from_env_value(Some("99999999999"))
            .unwrap()
            .default_ttl(),
        Duration::from_secs(30 * 24 * 3600)
    );
    for bad in ["0", "-5", "1h", "1.5"] {
        assert!(
            matches!(
                ShareTtl::from_env_value(Some(bad)),
                Err(ConfigError::InvalidTtl(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        ShareTtl::new(Duration::from_secs(10), Duration::from_secs(5)),
        Err(ConfigError::TtlOverCap {
            default_ms: 10_000,
            cap_ms: 5_000
        })
    ));
    let ttl = ShareTtl::new(Duration::from_secs(10), Duration::from_secs(60)).unwrap();
    assert_eq!(ttl.resolve(None).unwrap(), Duration::from_secs(10));
    assert_eq!(
        ttl.resolve(Some(Duration::from_secs(600))).unwrap(),
        Duration::from_secs(60)
    );
}

#[test]
fn keys_and_keyrings_are_validated() {
    assert!(matches!(
        ShareKey::new("k1", [0u8; 31]),
        Err(ConfigError::ShortSecret { len: 31, .. })
    ));
    for kid in ["", "has space", "a.b", &"x".repeat(65)] {
        assert!(matches!(
            ShareKey::new(kid, [0u8; 32]),
            Err(ConfigError::InvalidKid(_))
        ));
    }
    assert!(!format!("{:?}", key("k1", 42)).contains("42"));
    assert!(matches!(
        ShareKeyring::new(key("k1", 1)).rotate(key("k1", 2)),
        Err(ConfigError::DuplicateKid(_))
    ));

    let ring = ShareKeyring::parse(
        "k2:0123456789abcdef0123456789abcdef, k1:fedcba9876543210fedcba98765432:0",
    )
    .unwrap();
    assert_eq!(ring.active().kid(), "k2");
    assert_eq!(ring.kids().collect::<Vec<_>>(), ["k2", "k1"]);
    assert!(matches!(ShareKeyring::parse(""), Err(ConfigError::NoKey)));
    assert!(matches!(
        ShareKeyring::parse("k2:0123456789abcdef0123456789abcdef,nocolon"),
        Err(ConfigError::BadEntry(2))
    ));
}

#[test]
fn the_frontend_url_must_be_absolute() {
    let clock = Arc::new(FakeClock::at(t0()));
    let ring = Arc::new(ShareKeyring::new(key("k1", 1)));
    for bad in ["", "localhost:3000", "ftp://x", "http://"] {
        assert!(
            matches!(
                ShareIssuer::new(ring.clone(), ShareTtl::default(), bad, clock.clone()),
                Err(ConfigError::InvalidFrontendUrl(_))
            ),
            "{bad}"
        );
    }
    let issuer =
        ShareIssuer::new(ring, ShareTtl::default(), "https://app.example/", clock).unwrap();
    let link = issuer.issue("acme", None).unwrap();
    assert!(link.url.starts_with("https://app.example/share/quota/ey"));
}

#[test]
fn a_link_serializes_as_the_api_answers_it() {
    let (_, issuer, _) = setup();
    let link = issuer.issue("brand_dashboard", None).unwrap();
    let json = serde_json::to_value(&link).unwrap();
    assert_eq!(json["id"], link.id.as_str());
    assert_eq!(json["token"], link.token.as_str());
    assert_eq!(json["url"], link.url.as_str());
    assert_eq!(json["expiresAt"], "2026-11-27T10:00:00Z");
}

#[test]
fn garbage_is_malformed() {
    let ring = ShareKeyring::new(key("k1", 1));
    for tok in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.???.###",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        &"a".repeat(5000),
    ] {
        assert!(
            matches!(
                token::verify(&ring, tok, t0()),
                Err(ShareTokenError::Malformed(_))
            ),
            "{tok:?}"
        );
    }
}
