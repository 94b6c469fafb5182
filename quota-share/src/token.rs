//! The share token: a JWS compact serialization (RFC 7515) signed with HMAC-SHA256 (`HS256`),
//! `base64url(header).base64url(claims).base64url(mac)`, header `{"alg":"HS256","typ":"JWT",
//! "kid":...}`. Any JWT library can read it given the key; here it is built on `hmac` alone.
//!
//! Why not `jsonwebtoken`: the payments crate already needs HMAC-SHA256 (hmac 0.12 + sha2 0.10)
//! for `Stripe-Signature`, so one crypto stack serves both; the refusal reasons the share page
//! must tell apart (unsigned `base64(JSON)`, `alg: none`, unknown `kid`, bad signature) stay
//! our own typed errors instead of being folded into a library's kinds; and there is no crypto
//! backend feature to forget (jsonwebtoken 11 without one panics at the first encode). The
//! MAC is checked with `Mac::verify_slice`, which compares in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
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

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// Signs `claims` with `key` (serde_json cannot fail on these plain fields).
pub fn sign(key: &ShareKey, claims: &ShareClaims) -> String {
    let header = Header {
        alg: "HS256",
        typ: Some("JWT"),
        kid: Some(key.kid()),
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let tag = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
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
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(if token.contains('.') {
            ShareTokenError::Malformed("expected three dot-separated parts")
        } else if looks_like_unsigned_json(token) {
            ShareTokenError::Unsigned
        } else {
            ShareTokenError::Malformed("not a signed share token")
        });
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h64)
        .map_err(|_| ShareTokenError::Malformed("header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&header_bytes)
        .map_err(|_| ShareTokenError::Malformed("header is not a JWS header"))?;
    if header.alg.eq_ignore_ascii_case("none") || s64.is_empty() {
        return Err(ShareTokenError::Unsigned);
    }
    if header.alg != "HS256" {
        return Err(ShareTokenError::Malformed("unsupported algorithm"));
    }
    let kid = header
        .kid
        .ok_or(ShareTokenError::Malformed("header has no kid"))?;
    let key = keyring.key(kid).ok_or(ShareTokenError::UnknownKid)?;
    let tag = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| ShareTokenError::Malformed("signature is not base64url"))?;
    // The signed input is the first two parts as they came, dot included.
    let signed_len = h64.len().saturating_add(c64.len()).saturating_add(1);
    let signed = token
        .get(..signed_len)
        .ok_or(ShareTokenError::Malformed("truncated token"))?;
    if !key.verify(signed.as_bytes(), &tag) {
        return Err(ShareTokenError::BadSignature);
    }
    let claims_bytes = URL_SAFE_NO_PAD
        .decode(c64)
        .map_err(|_| ShareTokenError::Malformed("claims are not base64url"))?;
    let claims: ShareClaims = serde_json::from_slice(&claims_bytes)
        .map_err(|_| ShareTokenError::Malformed("claims are not share claims"))?;
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
