//! `RedisOptions`: timeouts, idempotency TTL, retention grace and key prefix.

use std::time::Duration;

use quota_core::store::DEFAULT_IDEMPOTENCY_TTL;

/// Settings of a [`crate::RedisStore`], as consuming `set_*` builders.
///
/// ```
/// use std::time::Duration;
/// use quota_redis::RedisOptions;
/// let opts = RedisOptions::new()
///     .set_response_timeout(Duration::from_millis(250))
///     .set_key_prefix("quota");
/// assert_eq!(opts.response_timeout(), Duration::from_millis(250));
/// assert_eq!(opts.key_prefix(), "quota");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    connect_timeout: Duration,
    response_timeout: Duration,
    idempotency_ttl: Duration,
    retention_grace: Duration,
    key_prefix: String,
    cluster_retries: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            retention_grace: Duration::from_secs(7 * 24 * 3600),
            key_prefix: "q".to_owned(),
            cluster_retries: 0,
        }
    }
}

impl RedisOptions {
    /// Defaults: connect 1 s, response 500 ms, idempotency keys kept 24 h, retention grace
    /// 7 days, key prefix `q`, no command retries on a cluster.
    pub fn new() -> Self {
        RedisOptions::default()
    }

    /// How long one connection attempt may take.
    #[must_use]
    pub fn set_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest any store call waits for Redis; past it the call returns
    /// [`quota_core::StoreError::Timeout`]. It also bounds a call issued while the connection
    /// is being re-established.
    #[must_use]
    pub fn set_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long an idempotency key is remembered (default 24 h).
    #[must_use]
    pub fn set_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// How long a period's keys outlive the period's end, and the least time any write keeps
    /// them (so a write to a period that already ended stays readable). Default 7 days.
    #[must_use]
    pub fn set_retention_grace(mut self, grace: Duration) -> Self {
        self.retention_grace = grace;
        self
    }

    /// The first segment of every key (default `q`), to share a Redis with other data. It
    /// must not contain `{` or `}`.
    #[must_use]
    pub fn set_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How many times the cluster client re-sends a command after a redirect or a dropped
    /// connection (default 0). A re-sent script whose first run did happen would count twice,
    /// so raise it only if double counting after a network fault is acceptable to you.
    #[must_use]
    pub fn set_cluster_retries(mut self, retries: u32) -> Self {
        self.cluster_retries = retries;
        self
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The response timeout.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The idempotency TTL.
    pub fn idempotency_ttl(&self) -> Duration {
        self.idempotency_ttl
    }

    /// The retention grace.
    pub fn retention_grace(&self) -> Duration {
        self.retention_grace
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The cluster command retries.
    pub fn cluster_retries(&self) -> u32 {
        self.cluster_retries
    }
}
