//! Share links: the issuer of signed read-only links and where their revocations live.

use std::sync::Arc;

use quota_share::{ShareIssuer, ShareRevocations};

/// What the share routes need.
#[derive(Debug, Clone)]
pub struct ShareState {
    /// Issues and checks tokens.
    pub issuer: Arc<ShareIssuer>,
    /// Where revocations live.
    pub revocations: Arc<dyn ShareRevocations>,
    /// Where revocations live, for the banner: `postgres`, `redis` or `memory`.
    pub revocations_in: &'static str,
    /// The generated `QUOTA_SHARE_KEYS` value in dev mode (printed in the banner).
    pub generated_keys: Option<String>,
}
