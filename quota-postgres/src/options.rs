//! `PostgresOptions`: pool and behaviour settings of a [`crate::PostgresStore`].

use std::time::Duration;

use quota_core::store::DEFAULT_IDEMPOTENCY_TTL;

/// Settings of a [`crate::PostgresStore`], built with consuming `set_*` methods.
///
/// ```
/// use std::time::Duration;
/// use quota_postgres::PostgresOptions;
/// let options = PostgresOptions::new()
///     .set_max_connections(16)
///     .set_statement_timeout(Some(Duration::from_secs(2)));
/// assert_eq!(options.max_connections(), 16);
/// ```
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    idempotency_ttl: Duration,
    idle_check_after: Duration,
    run_migrations: bool,
    consume_connections: Option<u32>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(10)),
            request_timeout: Some(Duration::from_secs(15)),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            idle_check_after: Duration::from_secs(1),
            run_migrations: true,
            consume_connections: None,
        }
    }
}

impl PostgresOptions {
    /// Defaults: 10 connections (and 10 for consumes), 5 s acquire timeout, 10 s statement
    /// timeout, 15 s request timeout, idempotency keys kept 24 h, migrations run at connect.
    pub fn new() -> Self {
        PostgresOptions::default()
    }

    /// Largest number of pooled connections (at least 1).
    #[must_use]
    pub fn set_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an operation waits for a pooled connection (including opening one) before it
    /// fails with [`quota_core::StoreError::Unavailable`].
    #[must_use]
    pub fn set_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Server-side `statement_timeout` of every connection (`None` = the server's setting).
    /// A statement cancelled by it fails with [`quota_core::StoreError::Timeout`].
    #[must_use]
    pub fn set_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Client-side deadline of every store call, from acquiring a connection to reading the
    /// last row (`None` = none). A call past it fails with
    /// [`quota_core::StoreError::Timeout`]: a server that stalls (stopped, swapping, a network
    /// that drops packets) answers nothing, so neither the acquire timeout nor the server-side
    /// statement timeout would end the call. Keep it above the statement timeout so a slow
    /// statement is cancelled by the server first. A call cut by the deadline has an unknown
    /// outcome, like any call whose answer was lost: retry a consume with its idempotency key.
    #[must_use]
    pub fn set_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long an idempotency key is remembered after its consume.
    #[must_use]
    pub fn set_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// A pooled connection idle for longer than this is pinged before use, so connections
    /// killed by a server restart are replaced instead of failing a request. Busy connections
    /// skip the ping (it would cost a round trip per operation).
    #[must_use]
    pub fn set_idle_check_after(mut self, idle: Duration) -> Self {
        self.idle_check_after = idle;
        self
    }

    /// How many dedicated connections consumes use (default: as many as
    /// [`PostgresOptions::set_max_connections`]), opened on demand besides the pool's, so a
    /// store may hold up to `max_connections + consume_connections` server connections.
    /// They are reused without the round trip sqlx's pool spends on every release; `0` runs
    /// consumes on the pool instead.
    #[must_use]
    pub fn set_consume_connections(mut self, n: u32) -> Self {
        self.consume_connections = Some(n);
        self
    }

    /// Whether [`crate::PostgresStore::connect`] runs the embedded migrations (default true).
    #[must_use]
    pub fn set_run_migrations(mut self, run: bool) -> Self {
        self.run_migrations = run;
        self
    }

    /// Largest number of pooled connections.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// Dedicated consume connections (0 = consumes use the pool).
    pub fn consume_connections(&self) -> u32 {
        self.consume_connections.unwrap_or(self.max_connections)
    }

    /// Acquire timeout.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// Statement timeout.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
    }

    /// Client-side deadline of every store call.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// Idempotency key time to live.
    pub fn idempotency_ttl(&self) -> Duration {
        self.idempotency_ttl
    }

    /// Idle time after which a connection is pinged before use.
    pub fn idle_check_after(&self) -> Duration {
        self.idle_check_after
    }

    /// Whether migrations run at connect.
    pub fn run_migrations(&self) -> bool {
        self.run_migrations
    }
}
