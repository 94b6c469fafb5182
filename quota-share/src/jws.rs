//! HS256 JSON Web Signatures (RFC 7515 compact serialization, HMAC-SHA256): the one JWT path of
//! the workspace, used by share links and by admin tokens. `alg` is fixed to `HS256` (`none`
//! and every other algorithm are refused), the MAC is compared in constant time
//! (`Mac::verify_slice`) and nothing is decoded past [`MAX_LEN`] bytes.
//!
//! ```
//! use quota_share::jws::{self, JwsError, JwsKey};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Claims { sub: String, exp: i64 }
//!
//! let key = JwsKey::new(b"a secret of at least 32 bytes, please");
//! let claims = Claims { sub: "ops".into(), exp: 2_000_000_000 };
//! let token = jws::sign(&key, Some("k1"), &claims);
//!
//! let back: Claims = jws::verify(&token, |kid| (kid == Some("k1")).then_some(&key))?;
//! assert_eq!(back, claims);
//!
//! let other = JwsKey::new(b"another secret of at least 32 bytes");
//! let refused = jws::verify::<Claims>(&token, |_| Some(&other));
//! assert_eq!(refused, Err(JwsError::BadSignature));
//! # Ok::<(), JwsError>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest token accepted; anything longer is refused before decoding.
pub const MAX_LEN: usize = 4096;

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not an HS256 JWS: wrong shape, bad base64 or JSON, another algorithm, too long, or
    /// claims of another shape.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// No signature, or `alg: none`.
    #[error("unsigned token: tokens must be signed")]
    Unsigned,
    /// The key id names no key we hold (or the token has none and one is needed).
    #[error("token is signed with an unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("token signature does not match")]
    BadSignature,
}

/// An HMAC-SHA256 key. `Debug` never shows the secret.
#[derive(Clone)]
pub struct JwsKey {
    mac: Hmac<Sha256>,
}

impl JwsKey {
    /// A key over `secret` (HMAC takes any length; callers enforce their own minimum).
    pub fn new(secret: &[u8]) -> Self {
        let Ok(mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            unreachable!("HMAC accepts keys of any length")
        };
        JwsKey { mac }
    }

    /// The HMAC-SHA256 tag of `data`.
    pub fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the tag of `data` (constant-time comparison).
    pub fn check(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for JwsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwsKey(..)")
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

/// Signs `claims` (`{"alg":"HS256","typ":"JWT"}` header, with `kid` when given). Claims that
/// serde cannot write as JSON (a map with non-string keys) are signed as `null`.
pub fn sign<T: Serialize>(key: &JwsKey, kid: Option<&str>, claims: &T) -> String {
    let header = Header {
        alg: "HS256",
        typ: Some("JWT"),
        kid,
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_else(|_| b"null".to_vec());
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let tag = key.tag(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

/// Checks a token's shape, algorithm and signature with the key `key_for` gives for the
/// header's `kid`, and decodes its claims. Claims' meaning (expiry, scope, issuer) is the
/// caller's to check. Never panics, whatever the input.
pub fn verify<'k, T: DeserializeOwned>(
    token: &str,
    key_for: impl FnOnce(Option<&str>) -> Option<&'k JwsKey>,
) -> Result<T, JwsError> {
    if token.len() > MAX_LEN {
        return Err(JwsError::Malformed("token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("expected three dot-separated parts"));
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h64)
        .map_err(|_| JwsError::Malformed("header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&header_bytes)
        .map_err(|_| JwsError::Malformed("header is not a JWS header"))?;
    if header.alg.eq_ignore_ascii_case("none") || s64.is_empty() {
        return Err(JwsError::Unsigned);
    }
    if header.alg != "HS256" {
        return Err(JwsError::Malformed("unsupported algorithm"));
    }
    let key = key_for(header.kid).ok_or(JwsError::UnknownKey)?;
    let tag = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| JwsError::Malformed("signature is not base64url"))?;
    // The signed input is the first two parts as they came, dot included.
    let signed_len = h64.len().saturating_add(c64.len()).saturating_add(1);
    let signed = token
        .get(..signed_len)
        .ok_or(JwsError::Malformed("truncated token"))?;
    if !key.check(signed.as_bytes(), &tag) {
        return Err(JwsError::BadSignature);
    }
    let claims_bytes = URL_SAFE_NO_PAD
        .decode(c64)
        .map_err(|_| JwsError::Malformed("claims are not base64url"))?;
    serde_json::from_slice(&claims_bytes)
        .map_err(|_| JwsError::Malformed("claims do not have the expected fields"))
}
