//! Signing keys and the keyring: one active key signs, older keys only verify, so a key can
//! rotate without breaking the links already handed out.

use std::fmt;

use crate::error::ConfigError;
use crate::jws::JwsKey;

/// The shortest secret accepted: 256 bits, the size of the HMAC-SHA256 output.
pub const MIN_SECRET_LEN: usize = 32;

/// One HMAC-SHA256 key with its id (`kid`). `Debug` never shows the secret.
#[derive(Clone)]
pub struct ShareKey {
    kid: String,
    // The keyed MAC state, cloned per use: the key is hashed once, not per token.
    key: JwsKey,
}

impl ShareKey {
    /// A key `kid` (1 to 64 characters of `[A-Za-z0-9_-]`) with a secret of at least 32 bytes.
    pub fn new(kid: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let kid = kid.into();
        let valid_kid = !kid.is_empty()
            && kid.len() <= 64
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_kid {
            return Err(ConfigError::InvalidKid(kid.chars().take(80).collect()));
        }
        let secret = secret.as_ref();
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::ShortSecret {
                kid,
                len: secret.len(),
            });
        }
        Ok(ShareKey {
            kid,
            key: JwsKey::new(secret),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The HMAC-SHA256 key tokens are signed with.
    pub(crate) fn jws(&self) -> &JwsKey {
        &self.key
    }
}

impl fmt::Debug for ShareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShareKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The keys that sign and verify share tokens: one active key (signs and verifies) and older
/// verify-only keys.
///
/// Rotation: put the new key first and keep the old one as verify-only for at least the
/// TTL cap; every token the old key signed expires within that time, after which it can go.
///
/// ```
/// use quota_share::{ShareKey, ShareKeyring};
/// let old = ShareKey::new("k1", [1u8; 32])?;
/// let new = ShareKey::new("k2", [2u8; 32])?;
/// let ring = ShareKeyring::new(old).rotate(new)?;
/// assert_eq!(ring.active().kid(), "k2");
/// assert!(ring.key("k1").is_some());
/// # Ok::<(), quota_share::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ShareKeyring {
    active: ShareKey,
    verify_only: Vec<ShareKey>,
}

impl ShareKeyring {
    /// A keyring with one key, active.
    pub fn new(active: ShareKey) -> Self {
        ShareKeyring {
            active,
            verify_only: Vec::new(),
        }
    }

    /// Adds a verify-only key.
    pub fn with_verify_only(mut self, key: ShareKey) -> Result<Self, ConfigError> {
        if self.key(key.kid()).is_some() {
            return Err(ConfigError::DuplicateKid(key.kid));
        }
        self.verify_only.push(key);
        Ok(self)
    }

    /// Makes `key` the active key; the previous active key becomes verify-only.
    pub fn rotate(self, key: ShareKey) -> Result<Self, ConfigError> {
        if self.key(key.kid()).is_some() {
            return Err(ConfigError::DuplicateKid(key.kid));
        }
        let mut verify_only = Vec::with_capacity(self.verify_only.len().saturating_add(1));
        verify_only.push(self.active);
        verify_only.extend(self.verify_only);
        Ok(ShareKeyring {
            active: key,
            verify_only,
        })
    }

    /// Removes a verify-only key (once every token it signed has expired). The active key
    /// cannot be removed; returns whether a key was removed.
    pub fn retire(&mut self, kid: &str) -> bool {
        let before = self.verify_only.len();
        self.verify_only.retain(|k| k.kid != kid);
        self.verify_only.len() != before
    }

    /// Parses `kid:secret[,kid:secret...]`, active key first (the form of an environment
    /// variable such as `QUOTA_SHARE_KEYS`). Secrets are taken as UTF-8 bytes and may contain
    /// `:` but not `,`.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let mut entries = spec
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
            .map(|(i, e)| {
                let (kid, secret) = e
                    .split_once(':')
                    .ok_or(ConfigError::BadEntry(i.saturating_add(1)))?;
                ShareKey::new(kid.trim(), secret.as_bytes())
            });
        let active = entries.next().ok_or(ConfigError::NoKey)??;
        entries.try_fold(ShareKeyring::new(active), |ring, key| {
            ring.with_verify_only(key?)
        })
    }

    /// The signing key.
    pub fn active(&self) -> &ShareKey {
        &self.active
    }

    /// The key with id `kid`, active or verify-only.
    pub fn key(&self, kid: &str) -> Option<&ShareKey> {
        std::iter::once(&self.active)
            .chain(&self.verify_only)
            .find(|k| k.kid == kid)
    }

    /// The ids of all keys, active first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.active)
            .chain(&self.verify_only)
            .map(|k| k.kid.as_str())
    }
}
