//! How long share links live: a default and a cap, from `QUOTA_SHARE_TTL_MS`.

use std::time::Duration;

use crate::error::{ConfigError, IssueError};

/// The environment variable holding the default lifetime in milliseconds.
pub const TTL_ENV: &str = "QUOTA_SHARE_TTL_MS";

/// Default lifetime when nothing is configured: 7 days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Longest lifetime a link may have: 30 days. It bounds how long a retired key must stay in
/// the keyring and how long a revocation must be remembered.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The default lifetime of a link and the cap every requested lifetime is clamped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareTtl {
    default: Duration,
    cap: Duration,
}

impl Default for ShareTtl {
    fn default() -> Self {
        ShareTtl {
            default: DEFAULT_TTL,
            cap: MAX_TTL,
        }
    }
}

impl ShareTtl {
    /// A default lifetime and a cap (`0 < default <= cap`).
    pub fn new(default: Duration, cap: Duration) -> Result<Self, ConfigError> {
        if default.is_zero() || default > cap {
            return Err(ConfigError::TtlOverCap {
                default_ms: default.as_millis(),
                cap_ms: cap.as_millis(),
            });
        }
        Ok(ShareTtl { default, cap })
    }

    /// From `QUOTA_SHARE_TTL_MS` (unset or empty: 7 days), capped at 30 days.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_value(std::env::var(TTL_ENV).ok().as_deref())
    }

    /// From the value `QUOTA_SHARE_TTL_MS` would hold. A value above the cap is clamped to it
    /// (with a warning); zero or a non-number is an error.
    pub fn from_env_value(value: Option<&str>) -> Result<Self, ConfigError> {
        let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(ShareTtl::default());
        };
        let ms: u64 = raw
            .parse()
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| ConfigError::InvalidTtl(raw.chars().take(40).collect()))?;
        let mut default = Duration::from_millis(ms);
        if default > MAX_TTL {
            tracing::warn!(
                requested_ms = ms,
                cap_ms = MAX_TTL.as_millis(),
                "{TTL_ENV} is above the cap; share links will live 30 days"
            );
            default = MAX_TTL;
        }
        ShareTtl::new(default, MAX_TTL)
    }

    /// The default lifetime.
    pub fn default_ttl(&self) -> Duration {
        self.default
    }

    /// The cap.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The lifetime for a request: the default when none is asked, else the request clamped
    /// to the cap. Zero is refused.
    pub fn resolve(&self, requested: Option<Duration>) -> Result<Duration, IssueError> {
        match requested {
            None => Ok(self.default),
            Some(d) if d.is_zero() => Err(IssueError::InvalidTtl),
            Some(d) => Ok(d.min(self.cap)),
        }
    }
}
