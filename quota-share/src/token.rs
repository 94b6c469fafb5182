//! The share token: a JWS compact serialization (RFC 7515) signed with HMAC-SHA256 (`HS256`),
//! `base64url(header).base64url(claims).base64url(mac)`, header `{"alg":"HS256","typ":"JWT",
//! "kid":...}`, through [`crate::jws`]. Any JWT library can read it given the key.
//!
//! Why not `jsonwebtoken`: the payments crate already needs HMAC-SHA256 (hmac 0.12 + sha2 0.10)
//! for `Stripe-Signature`, so one crypto stack serves both; the refusal reasons the share page
//! must tell apart (unsigned `base64(JSON)`, `alg: none`, unknown `kid`, bad signature) stay
//! our own typed errors instead of being folded into a library's kinds; and there is no crypto
//! backend feature to forget (jsonwebtoken 11 without one panics at the first encode). The
//! MAC is checked with `Mac::verify_slice`, which compares in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::jws::{self, JwsError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ShareTokenError;
use crate::key::{ShareKey, ShareKeyring};

/// The only scope share links grant: read the brand's snapshot.
pub const SNAPSHOT_READ: &str = "snapshot:read";

/// Longest token accepted; anything longer is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a share token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShareClaims {
    /// Token id, the handle for revocation.
    pub jti: String,
    /// The brand whose snapshot it opens.
    pub brand: String,
    /// What it grants ([`SNAPSHOT_READ`]).
    pub scope: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch (refused from that second on).
    pub exp: i64,
}

impl ShareClaims {
    /// Claims for `brand` with scope [`SNAPSHOT_READ`].
    pub fn new(jti: impl Into<String>, brand: impl Into<String>, iat: i64, exp: i64) -> Self {
        ShareClaims {
            jti: jti.into(),
            brand: brand.into(),
            scope: SNAPSHOT_READ.to_owned(),
            iat,
            exp,
        }
    }

    /// When it was issued.
    pub fn issued_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.iat, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// When it expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Signs `claims` with `key` (header `{"alg":"HS256","typ":"JWT","kid":...}`).
pub fn sign(key: &ShareKey, claims: &ShareClaims) -> String {
    jws::sign(key.jws(), Some(key.kid()), claims)
}

/// Checks a token's shape, key, signature, scope and expiry at `now` (not revocation: see
/// [`crate::verify_and_check`]). Never panics, whatever the input.
pub fn verify(
    keyring: &ShareKeyring,
    token: &str,
    now: DateTime<Utc>,
) -> Result<ShareClaims, ShareTokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ShareTokenError::Malformed("token is too long"));
    }
    if !token.contains('.') {
        return Err(if looks_like_unsigned_json(token) {
            ShareTokenError::Unsigned
        } else {
            ShareTokenError::Malformed("not a signed share token")
        });
    }
    let mut has_kid = true;
    let claims: ShareClaims = jws::verify(token, |kid| {
        has_kid = kid.is_some();
        kid.and_then(|k| keyring.key(k)).map(ShareKey::jws)
    })
    .map_err(|e| match e {
        JwsError::Unsigned => ShareTokenError::Unsigned,
        JwsError::UnknownKey if !has_kid => ShareTokenError::Malformed("header has no kid"),
        JwsError::UnknownKey => ShareTokenError::UnknownKid,
        JwsError::BadSignature => ShareTokenError::BadSignature,
        JwsError::Malformed("claims do not have the expected fields") => {
            ShareTokenError::Malformed("claims are not share claims")
        }
        JwsError::Malformed(why) => ShareTokenError::Malformed(why),
    })?;
    if claims.scope != SNAPSHOT_READ {
        return Err(ShareTokenError::WrongScope {
            expected: SNAPSHOT_READ,
            found: claims.scope.chars().take(64).collect(),
        });
    }
    if now.timestamp() >= claims.exp {
        return Err(ShareTokenError::Expired {
            expired_at: claims.expires_at(),
        });
    }
    Ok(claims)
}

/// Whether `token` is base64 (any alphabet, padded or not) of a JSON object: the runbook's
/// `Buffer.from(JSON.stringify(payload)).toString('base64')`.
fn looks_like_unsigned_json(token: &str) -> bool {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .filter_map(|engine| engine.decode(token).ok())
        .any(|bytes| {
            serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| v.is_object())
        })
}
