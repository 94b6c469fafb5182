//! Share links: issuing (`ShareIssuer`), the link itself (`ShareLink`) and the check a
//! share page runs before it shows anything (`verify_and_check`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quota_core::{Clock, StoreError};
use serde::Serialize;

use crate::error::{ConfigError, IssueError, ShareTokenError};
use crate::key::ShareKeyring;
use crate::revocation::ShareRevocations;
use crate::token::{self, ShareClaims};
use crate::ttl::ShareTtl;

/// The path prefix of share pages under `FRONTEND_URL`.
pub const SHARE_PATH: &str = "/share/quota/";

/// A share link as the API returns it: `{id, token, url, expiresAt}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShareLink {
    /// Token id, to revoke it.
    pub id: String,
    /// The signed token.
    pub token: String,
    /// `$FRONTEND_URL/share/quota/<token>`.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Checks a token fully before a share page shows data: signature, key, scope, expiry at
/// `now`, then revocation. Returns the claims (the brand to show) or why to refuse.
pub async fn verify_and_check(
    keyring: &ShareKeyring,
    revocations: &dyn ShareRevocations,
    token: &str,
    now: DateTime<Utc>,
) -> Result<ShareClaims, ShareTokenError> {
    let claims = token::verify(keyring, token, now)?;
    match revocations.is_revoked(&claims.jti).await {
        Ok(false) => Ok(claims),
        Ok(true) => Err(ShareTokenError::Revoked),
        Err(e) => Err(ShareTokenError::Revocations(e)),
    }
}

/// Issues, checks and revokes share links with one keyring, TTL policy, frontend URL and clock.
#[derive(Clone, Debug)]
pub struct ShareIssuer {
    keyring: Arc<ShareKeyring>,
    ttl: ShareTtl,
    frontend_url: String,
    clock: Arc<dyn Clock>,
}

impl ShareIssuer {
    /// An issuer. `frontend_url` is an absolute http(s) URL (a trailing `/` is dropped).
    pub fn new(
        keyring: Arc<ShareKeyring>,
        ttl: ShareTtl,
        frontend_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let url = frontend_url.trim().trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if !rest.is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace)) {
            return Err(ConfigError::InvalidFrontendUrl(
                frontend_url.chars().take(200).collect(),
            ));
        }
        Ok(ShareIssuer {
            keyring,
            ttl,
            frontend_url: url.to_owned(),
            clock,
        })
    }

    /// The keyring.
    pub fn keyring(&self) -> &Arc<ShareKeyring> {
        &self.keyring
    }

    /// The TTL policy.
    pub fn ttl(&self) -> ShareTtl {
        self.ttl
    }

    /// Issues a link to `brand`'s snapshot living `ttl` (default when `None`, clamped to the
    /// cap). The expiry is rounded up to the whole second (JWT `exp`).
    pub fn issue(&self, brand: &str, ttl: Option<Duration>) -> Result<ShareLink, IssueError> {
        quota_core::ids::validate_brand_id(brand)
            .map_err(|e| IssueError::InvalidBrand(e.to_string()))?;
        let ttl = self.ttl.resolve(ttl)?;
        let now = self.clock.now();
        let ttl_ms = i64::try_from(ttl.as_millis()).map_err(|_| IssueError::OutOfRange)?;
        let exp_ms = now
            .timestamp_millis()
            .checked_add(ttl_ms)
            .ok_or(IssueError::OutOfRange)?;
        let exp = exp_ms
            .checked_add(999)
            .ok_or(IssueError::OutOfRange)?
            .div_euclid(1000);
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(IssueError::OutOfRange)?;
        let id = new_id()?;
        let claims = ShareClaims::new(id.clone(), brand, now.timestamp(), exp);
        let token = token::sign(self.keyring.active(), &claims);
        let url = format!("{}{SHARE_PATH}{token}", self.frontend_url);
        Ok(ShareLink {
            id,
            token,
            url,
            expires_at,
        })
    }

    /// The link of `token`, whose `claims` [`ShareIssuer::verify`] returned: what
    /// [`ShareIssuer::issue`] gave when it issued the token (`None` past chrono's range).
    pub fn link_of(&self, token: &str, claims: &ShareClaims) -> Option<ShareLink> {
        Some(ShareLink {
            id: claims.jti.clone(),
            token: token.to_owned(),
            url: format!("{}{SHARE_PATH}{token}", self.frontend_url),
            expires_at: DateTime::from_timestamp(claims.exp, 0)?,
        })
    }

    /// [`verify_and_check`] at the issuer's clock.
    pub async fn verify(
        &self,
        revocations: &dyn ShareRevocations,
        token: &str,
    ) -> Result<ShareClaims, ShareTokenError> {
        verify_and_check(&self.keyring, revocations, token, self.clock.now()).await
    }

    /// Revokes link `id` when only its id is known: remembered until now + the TTL cap, by
    /// which time every token it could name has expired.
    pub async fn revoke(
        &self,
        revocations: &dyn ShareRevocations,
        id: &str,
    ) -> Result<(), StoreError> {
        let cap = chrono::Duration::from_std(self.ttl.cap()).unwrap_or(chrono::Duration::MAX);
        let until = self
            .clock
            .now()
            .checked_add_signed(cap)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        revocations.revoke(id, until).await
    }
}

/// `sh_` + 128 random bits in hex.
fn new_id() -> Result<String, IssueError> {
    use std::fmt::Write as _;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| IssueError::Random(e.to_string()))?;
    let mut id = String::with_capacity(35);
    id.push_str("sh_");
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    Ok(id)
}
