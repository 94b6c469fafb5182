//! Typed errors: why a token is refused, why a link cannot be issued, why a key or a
//! setting is rejected.

use chrono::{DateTime, Utc};
use quota_core::StoreError;

/// Why a share token is refused. Every variant means "show the invalid-link page, never
/// data"; [`ShareTokenError::is_gone`] tells 410 (it was valid once) from 404.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareTokenError {
    /// Not a token of ours: wrong shape, bad base64 or JSON, unsupported algorithm, too long.
    #[error("malformed share token: {0}")]
    Malformed(&'static str),
    /// A token without a signature, such as the runbook's `base64(JSON)` example or a JWS
    /// with `alg: none`.
    #[error("unsigned share token: share tokens must be signed")]
    Unsigned,
    /// The signature does not match (tampered token, or signed with a key we do not hold
    /// under that key id).
    #[error("share token signature does not match")]
    BadSignature,
    /// The key id (`kid`) names no key of the keyring (never ours, or retired and removed).
    #[error("share token is signed with an unknown key id")]
    UnknownKid,
    /// The token expired at `expired_at`.
    #[error("share token expired at {expired_at}")]
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// The token was revoked.
    #[error("share token was revoked")]
    Revoked,
    /// The token grants another scope than the one asked for.
    #[error("share token scope {found:?} does not grant {expected:?}")]
    WrongScope {
        /// The scope the caller needs.
        expected: &'static str,
        /// The scope the token carries (truncated to 64 characters).
        found: String,
    },
    /// The revocation list could not be read, so the token cannot be trusted now.
    #[error("cannot check share token revocation: {0}")]
    Revocations(#[source] StoreError),
}

impl ShareTokenError {
    /// Whether the token was genuine but is no longer usable (expired or revoked): a server
    /// answers 410 Gone for these and 404 for the others (503 for [`Self::Revocations`]).
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            ShareTokenError::Expired { .. } | ShareTokenError::Revoked
        )
    }

    /// Whether the failure is on our side (the revocation store), not the token's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ShareTokenError::Revocations(_))
    }
}

/// A share link cannot be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The brand id has a bad shape.
    #[error("invalid brand id: {0}")]
    InvalidBrand(String),
    /// The requested lifetime is zero.
    #[error("share link lifetime must be at least 1 ms")]
    InvalidTtl,
    /// The expiry does not fit in a timestamp.
    #[error("share link expiry is out of range")]
    OutOfRange,
    /// The operating system gave no random bytes for the token id.
    #[error("no randomness for the share token id: {0}")]
    Random(String),
}

/// A key, keyring or setting is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key id is empty, longer than 64 or not `[A-Za-z0-9_-]`.
    #[error("invalid share key id {0:?}: 1 to 64 characters of A-Z a-z 0-9 _ -")]
    InvalidKid(String),
    /// A secret is shorter than 32 bytes.
    #[error("share key {kid:?}: secret must be at least 32 bytes, got {len}")]
    ShortSecret {
        /// The key id.
        kid: String,
        /// The secret's length.
        len: usize,
    },
    /// Two keys share a key id.
    #[error("share key id {0:?} is used twice")]
    DuplicateKid(String),
    /// No key is configured.
    #[error("no share key configured: expected `kid:secret[,kid:secret...]`, active key first")]
    NoKey,
    /// A keyring entry is not `kid:secret`.
    #[error("share key entry #{0} is not `kid:secret`")]
    BadEntry(usize),
    /// `QUOTA_SHARE_TTL_MS` is not a positive integer of milliseconds.
    #[error("QUOTA_SHARE_TTL_MS must be a positive integer of milliseconds, got {0:?}")]
    InvalidTtl(String),
    /// The default TTL exceeds the cap, or the cap is zero.
    #[error("share TTL default {default_ms} ms must be within 1..={cap_ms} ms")]
    TtlOverCap {
        /// The default, ms.
        default_ms: u128,
        /// The cap, ms.
        cap_ms: u128,
    },
    /// The frontend URL is not an absolute http(s) URL.
    #[error("FRONTEND_URL must be an absolute http(s) URL, got {0:?}")]
    InvalidFrontendUrl(String),
}
