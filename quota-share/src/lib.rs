//! Share links for Usage Quota Guardian: signed, expiring, revocable tokens that open one
//! brand's snapshot read-only at `$FRONTEND_URL/share/quota/<token>`.
//!
//! Tokens are JWS compact HS256 (`header.claims.mac`, HMAC-SHA256) with a `kid` header, so
//! keys rotate: a [`ShareKeyring`] signs with its active key and still verifies tokens of
//! older keys until they expire. Verification is constant time and every refusal is a
//! [`ShareTokenError`]: malformed, unsigned (the runbook's `base64(JSON)`), bad signature,
//! unknown key, expired, revoked, wrong scope. No input makes it panic.
//!
//! ```
//! use std::sync::Arc;
//! use quota_core::Clock;
//! use quota_core::clock::FakeClock;
//! use quota_share::{MemoryRevocations, ShareIssuer, ShareKey, ShareKeyring, ShareTokenError, ShareTtl};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = FakeClock::at(chrono::Utc::now());
//! let keyring = Arc::new(ShareKeyring::new(ShareKey::new("k1", b"a secret of at least 32 bytes...")?));
//! let issuer = ShareIssuer::new(keyring, ShareTtl::default(), "http://localhost:3000", Arc::new(clock.clone()))?;
//! let revocations = MemoryRevocations::new();
//!
//! let link = issuer.issue("brand_dashboard", None)?;
//! assert!(link.url.starts_with("http://localhost:3000/share/quota/"));
//! let claims = issuer.verify(&revocations, &link.token).await?;
//! assert_eq!(claims.brand, "brand_dashboard");
//!
//! issuer.revoke(&revocations, &link.id).await?;
//! assert!(matches!(issuer.verify(&revocations, &link.token).await, Err(ShareTokenError::Revoked)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod jws;
pub mod key;
pub mod link;
pub mod revocation;
pub mod token;
pub mod ttl;

pub use error::{ConfigError, IssueError, ShareTokenError};
pub use key::{ShareKey, ShareKeyring};
pub use link::{SHARE_PATH, ShareIssuer, ShareLink, verify_and_check};
pub use revocation::{MemoryRevocations, ShareRevocations};
pub use token::{SNAPSHOT_READ, ShareClaims};
pub use ttl::{MAX_TTL, ShareTtl, TTL_ENV};
