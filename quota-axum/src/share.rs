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

impl ShareState {
    /// Links signed with a key generated for this process (links stop verifying when it
    /// restarts), revocations in memory, link URLs under `public_url`.
    pub fn generated(
        public_url: &str,
        clock: Arc<dyn quota_core::Clock>,
    ) -> Result<Self, crate::SetupError> {
        let spec = generate_key_spec()?;
        let keyring = quota_share::ShareKeyring::parse(&spec)
            .map_err(|e| crate::SetupError::Share(e.to_string()))?;
        let issuer = ShareIssuer::new(
            Arc::new(keyring),
            quota_share::ShareTtl::default(),
            public_url,
            clock,
        )
        .map_err(|e| crate::SetupError::Share(e.to_string()))?;
        Ok(ShareState {
            issuer: Arc::new(issuer),
            revocations: Arc::new(quota_share::MemoryRevocations::new()),
            revocations_in: "memory",
            generated_keys: Some(spec),
        })
    }
}

/// A random `dev:<64 hex>` share key spec (the `QUOTA_SHARE_KEYS` format).
pub fn generate_key_spec() -> Result<String, crate::SetupError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::SetupError::Random(e.to_string()))?;
    Ok(format!("dev:{}", hex::encode(bytes)))
}
