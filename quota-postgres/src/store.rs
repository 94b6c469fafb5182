//! `PostgresStore`: the pool, migrations and the helpers every trait implementation shares.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quota_core::StoreError;
use quota_core::store::StoreResult;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{SchemaError, map_sqlx};
use crate::lane::Lane;
use crate::options::PostgresOptions;

/// The embedded migrations (`quota-postgres/migrations/`): the schema, in one migration.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Versions of the pre-release migrations of this crate: a database that applied any of them
/// holds a schema no release migrates ([`SchemaError::PreRelease`]).
const PRE_RELEASE_VERSIONS: [i64; 5] = [
    20261125000001,
    20261125000002,
    20261125000003,
    20261125000004,
    20261202000005,
];

/// A durable store on Postgres implementing every store trait of `quota-core`.
///
/// Cheap to clone (the pool is shared). Any number of instances, in any number of processes,
/// may share one database: every decision is arbitrated by Postgres row locks and unique
/// constraints, never by process memory.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Dedicated consume connections (`None`: consumes use the pool).
    pub(crate) lane: Option<Arc<Lane>>,
    pub(crate) idempotency_ttl: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) request_timeout: Option<Duration>,
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`), then runs the embedded
    /// migrations (idempotent; serialized between instances by an advisory lock) unless
    /// [`PostgresOptions::set_run_migrations`] turned them off.
    ///
    /// The pool opens connections lazily; this call fails with `Unavailable` when the server
    /// cannot be reached within the acquire timeout.
    pub async fn connect(url: &str, options: PostgresOptions) -> StoreResult<Self> {
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Backend {
            message: format!("invalid Postgres URL: {e}"),
            source: None,
        })?;
        connect = connect
            .application_name("quota-postgres")
            .disable_statement_logging();
        if let Some(timeout) = options.statement_timeout() {
            let ms = timeout.as_millis().max(1);
            connect = connect.options([("statement_timeout", format!("{ms}ms"))]);
        }
        let idle_check = options.idle_check_after();
        let lane = (options.consume_connections() > 0).then(|| {
            Arc::new(Lane::new(
                connect.clone(),
                options.consume_connections(),
                options.acquire_timeout(),
                idle_check,
            ))
        });
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections())
            .acquire_timeout(options.acquire_timeout())
            // A ping before every acquire would cost a round trip per decision; sqlx already
            // pings on release, so only connections that sat idle (and may have been killed by
            // a server restart meanwhile) are checked.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > idle_check {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(connect);
        let store = PostgresStore {
            pool,
            lane,
            idempotency_ttl: options.idempotency_ttl(),
            statement_timeout: options.statement_timeout(),
            request_timeout: options.request_timeout(),
        };
        if options.run_migrations() {
            store.migrate().await?;
        } else {
            store.ping_pool().await?;
        }
        Ok(store)
    }

    /// Wraps an existing pool and runs the embedded migrations. Idempotency keys are kept
    /// for the default 24 h (see [`PostgresStore::with_idempotency_ttl`]) and calls have the
    /// default request timeout ([`PostgresOptions::set_request_timeout`]). Consumes get as
    /// many dedicated connections as the pool's maximum, opened with its connect options
    /// (see [`PostgresOptions::set_consume_connections`]).
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        let pool_options = pool.options();
        let lane = Arc::new(Lane::new(
            (*pool.connect_options()).clone(),
            pool_options.get_max_connections(),
            pool_options.get_acquire_timeout(),
            PostgresOptions::new().idle_check_after(),
        ));
        let store = PostgresStore {
            lane: Some(lane),
            pool,
            idempotency_ttl: PostgresOptions::new().idempotency_ttl(),
            statement_timeout: None,
            request_timeout: PostgresOptions::new().request_timeout(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Sets how long idempotency keys are remembered.
    #[must_use]
    pub fn with_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// Runs the embedded migrations (already applied ones are skipped).
    ///
    /// A database whose migration history lists pre-release migrations of this crate is
    /// refused, untouched, with a [`StoreError::Backend`] whose source is
    /// [`SchemaError::PreRelease`].
    pub async fn migrate(&self) -> StoreResult<()> {
        self.refuse_pre_release_schema().await?;
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => self.err("migrate", inner),
            other => StoreError::backend("Postgres migrations failed", other),
        })
    }

    /// Fails with [`SchemaError::PreRelease`] when the current schema's migration history
    /// lists a pre-release migration.
    async fn refuse_pre_release_schema(&self) -> StoreResult<()> {
        let (schema, versions): (Option<String>, Vec<i64>) = self
            .bounded(async {
                let (schema, history): (Option<String>, bool) = sqlx::query_as(
                    "SELECT current_schema()::TEXT, to_regclass('_sqlx_migrations') IS NOT NULL",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err("migrate", e))?;
                if !history {
                    return Ok((schema, Vec::new()));
                }
                let versions: Vec<i64> = sqlx::query_scalar(
                    "SELECT version FROM _sqlx_migrations WHERE version = ANY($1) ORDER BY version",
                )
                .bind(PRE_RELEASE_VERSIONS)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err("migrate", e))?;
                Ok((schema, versions))
            })
            .await?;
        if versions.is_empty() {
            return Ok(());
        }
        let refused = SchemaError::PreRelease {
            schema: schema.unwrap_or_default(),
            versions,
        };
        Err(StoreError::backend(refused.to_string(), refused))
    }

    /// The underlying pool (for health checks or custom queries).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool and the consume connections: waits for pooled connections in use,
    /// closes idle ones (a consume connection in use is closed when its call ends).
    pub async fn close(&self) {
        if let Some(lane) = &self.lane {
            lane.close().await;
        }
        self.pool.close().await;
    }

    async fn ping_pool(&self) -> StoreResult<()> {
        self.bounded(async {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| self.err("ping", e))
        })
        .await
    }

    /// Runs one store call within the request timeout: past it the call is dropped (its
    /// connection with it, see [`crate::lane`]) and fails with [`StoreError::Timeout`].
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        match self.request_timeout {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .unwrap_or(Err(StoreError::Timeout(limit))),
            None => call.await,
        }
    }

    /// Maps a sqlx error of operation `op`.
    pub(crate) fn err(&self, op: &str, e: sqlx::Error) -> StoreError {
        map_sqlx(op, self.statement_timeout, e)
    }

    /// Pings the server (one round trip).
    pub(crate) async fn ping_server(&self) -> StoreResult<()> {
        self.ping_pool().await
    }

    /// When an idempotency key remembered at `at` expires.
    pub(crate) fn key_deadline(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.idempotency_ttl)
            .ok()
            .and_then(|d| at.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Deletes what is past its retention: idempotency keys expired at `now`, and counters
    /// (with their daily buckets, which live in the counter row, and alert claims) whose `retain_until` is before `now`.
    /// The ledger, top-ups and timeline are kept. Returns the number of rows deleted.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.bounded(async {
            let row: (i64,) = sqlx::query_as(
                "WITH keys AS (
                     DELETE FROM usage_idempotency_keys WHERE expires_at <= $1 RETURNING 1
                 ), counters AS (
                     DELETE FROM usage_counters WHERE retain_until < $1
                     RETURNING brand, metric, period
                 ), claims AS (
                     DELETE FROM alert_claims a USING counters c
                     WHERE a.brand = c.brand AND a.metric = c.metric AND a.period = c.period
                     RETURNING 1
                 )
                 SELECT (SELECT count(*) FROM keys) + (SELECT count(*) FROM counters)
                      + (SELECT count(*) FROM claims)",
            )
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err("purge_expired", e))?;
            Ok(u64::try_from(row.0).unwrap_or(0))
        })
        .await
    }
}
