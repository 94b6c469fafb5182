//! `RedisStore`: the connection, the scripts and keys, and the helpers every trait
//! implementation shares (one file per trait: `usage`, `topups`, `alerts`, `subscriptions`,
//! `outbox`; share-link revocations in `share_links`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, Utc};
use quota_core::StoreError;
use quota_core::domain::MAX_UNITS;
use quota_core::period::PeriodKey;
use quota_core::store::StoreResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Script};

use crate::conn::{Conn, bounded};
use crate::keys::Keys;
use crate::lua::Scripts;
use crate::options::RedisOptions;

/// Longest a monthly billing period lasts, in days: bounds its end from its start alone.
const MAX_PERIOD_DAYS: i64 = 31;
/// A quantity past the domain: every larger one decides the same way (it never fits), and
/// the scripts' numbers stay exact.
pub(crate) const PAST_DOMAIN: u64 = MAX_UNITS + 1;

/// A [`quota_core::Store`] on Redis (one server) or Redis Cluster. Cheap to clone: clones
/// share one multiplexed connection, on which concurrent calls are pipelined.
///
/// Every decision (consume with its idempotency key, release, gauge change, top-up status
/// change, alert claim, timeline append, period or counter reset) is one Lua script run with
/// EVALSHA: one round trip, atomic on the server, hence exact across any number of processes
/// sharing the Redis.
#[derive(Clone, Debug)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) conn: Conn,
    pub(crate) keys: Keys,
    pub(crate) scripts: Scripts,
    pub(crate) opts: RedisOptions,
}

pub(crate) fn invalid_config(message: String) -> StoreError {
    StoreError::Backend {
        message,
        source: None,
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

impl RedisStore {
    /// Connects to one Redis server (`redis://host:port/db`). Fails with
    /// [`StoreError::Unavailable`] or [`StoreError::Timeout`] when the server does not answer;
    /// once built, the store reconnects by itself after an outage.
    pub async fn connect(url: &str, opts: RedisOptions) -> StoreResult<Self> {
        check_options(&opts)?;
        let client = redis::Client::open(url)
            .map_err(|e| invalid_config(format!("invalid redis url {url:?}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout()))
            .set_response_timeout(Some(opts.response_timeout()))
            .set_number_of_retries(2)
            .set_max_delay(opts.connect_timeout());
        let manager = bounded(
            opts.connect_timeout()
                .saturating_add(opts.response_timeout()),
            "connect",
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        Ok(RedisStore::from_conn(Conn::Single(manager), opts))
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://host:port` each).
    pub async fn connect_cluster<I, S>(urls: I, opts: RedisOptions) -> StoreResult<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        check_options(&opts)?;
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        let client = ClusterClientBuilder::new(urls.iter().map(String::as_str))
            .connection_timeout(opts.connect_timeout())
            .response_timeout(opts.response_timeout())
            .retries(opts.cluster_retries())
            .build()
            .map_err(|e| invalid_config(format!("invalid redis cluster urls {urls:?}: {e}")))?;
        let conn = bounded(
            opts.connect_timeout()
                .saturating_add(opts.response_timeout()),
            "connect",
            client.get_async_connection(),
        )
        .await?;
        Ok(RedisStore::from_conn(Conn::Cluster(conn), opts))
    }

    /// A store on the caller's connection to one Redis server, for an application that already
    /// holds a [`ConnectionManager`] (its own TLS, credentials, reconnection and timeouts) and
    /// shares it: the store's calls are pipelined on it with the caller's. The store bounds
    /// each of its calls by [`RedisOptions::response_timeout`]; the connect timeout of `opts`
    /// is not used (the connection already exists).
    ///
    /// Fails only on invalid `opts` (a key prefix with braces); nothing is sent to Redis.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use quota_redis::{RedisOptions, RedisStore};
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let manager = redis::aio::ConnectionManager::new(client).await?;
    /// let store = RedisStore::from_manager(manager, RedisOptions::new())?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn from_manager(manager: ConnectionManager, opts: RedisOptions) -> StoreResult<Self> {
        check_options(&opts)?;
        Ok(RedisStore::from_conn(Conn::Single(manager), opts))
    }

    /// A store on the caller's connection to a Redis Cluster
    /// ([`redis::cluster_async::ClusterConnection`], from
    /// [`redis::cluster::ClusterClient::get_async_connection`]), shared as
    /// [`RedisStore::from_manager`] shares a single server's. The client's own retry setting
    /// applies, not [`RedisOptions::cluster_retries`]: build the client with
    /// `.retries(0)` unless double counting after a network fault is acceptable (a re-sent
    /// script whose first run did happen counts twice).
    ///
    /// Fails only on invalid `opts` (a key prefix with braces); nothing is sent to Redis.
    pub fn from_cluster_connection(
        conn: ClusterConnection,
        opts: RedisOptions,
    ) -> StoreResult<Self> {
        check_options(&opts)?;
        Ok(RedisStore::from_conn(Conn::Cluster(conn), opts))
    }

    fn from_conn(conn: Conn, opts: RedisOptions) -> Self {
        RedisStore {
            inner: Arc::new(Inner {
                conn,
                keys: Keys::new(opts.key_prefix().to_owned()),
                scripts: Scripts::new(),
                opts,
            }),
        }
    }

    /// The options the store was built with.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.opts
    }

    /// Loads every script on the server(s) now, so the first decisions skip the NOSCRIPT
    /// round trip. Optional: a missing script is loaded on demand.
    pub async fn preload_scripts(&self) -> StoreResult<()> {
        for script in self.inner.scripts.all() {
            let mut conn = self.inner.conn.clone();
            let _sha: String = self
                .bounded("script load", script.load_async(&mut conn))
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn bounded<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> StoreResult<T> {
        bounded(self.inner.opts.response_timeout(), what, fut).await
    }

    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        what: &'static str,
        cmd: &Cmd,
    ) -> StoreResult<T> {
        let mut conn = self.inner.conn.clone();
        self.bounded(what, cmd.query_async(&mut conn)).await
    }

    /// Runs a script whose reply is an array of integers.
    pub(crate) async fn script_ints<const N: usize>(
        &self,
        what: &'static str,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> StoreResult<[i64; N]> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.inner.conn.clone();
        let reply: Vec<i64> = self.bounded(what, inv.invoke_async(&mut conn)).await?;
        let len = reply.len();
        reply.try_into().map_err(|_| {
            corrupt(format!(
                "the {what} script answered {len} integers instead of {N}"
            ))
        })
    }

    /// The expiry (Unix ms) of a period's keys: `until`, but never sooner than one grace from
    /// now, so writes to a period that already ended stay readable for a while.
    pub(crate) fn expire_at(&self, until: DateTime<Utc>) -> i64 {
        let grace = duration_ms(self.inner.opts.retention_grace());
        let floor = now_ms().saturating_add(grace);
        until.timestamp_millis().max(floor)
    }

    /// The expiry of a period's keys known only by its key (start date): a billing period
    /// lasts at most 31 days, then the retention grace.
    pub(crate) fn period_expire_at(&self, period: PeriodKey) -> i64 {
        let end = period_start(period)
            .and_then(|start| start.checked_add_signed(chrono::Duration::days(MAX_PERIOD_DAYS)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let grace = chrono::Duration::from_std(self.inner.opts.retention_grace())
            .unwrap_or(chrono::Duration::MAX);
        self.expire_at(
            end.checked_add_signed(grace)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

fn check_options(opts: &RedisOptions) -> StoreResult<()> {
    if opts.key_prefix().contains(['{', '}']) {
        return Err(invalid_config(format!(
            "key prefix {:?} must not contain braces (they would change the cluster hash tag)",
            opts.key_prefix()
        )));
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, duration_ms)
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn period_start(period: PeriodKey) -> Option<DateTime<Utc>> {
    let ymd = period.0;
    let year = i32::try_from(ymd / 10_000).ok()?;
    let date = NaiveDate::from_ymd_opt(year, (ymd / 100) % 100, ymd % 100)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// A count a script returns: within the domain (a larger or negative one means the keys
/// hold something this store did not write).
pub(crate) fn units(v: i64) -> StoreResult<u64> {
    u64::try_from(v)
        .ok()
        .filter(|u| *u <= MAX_UNITS)
        .ok_or_else(|| corrupt(format!("a script answered {v}, outside 0..={MAX_UNITS}")))
}

pub(crate) fn parse_u64(s: Option<&str>, what: &str) -> StoreResult<u64> {
    s.map_or(Ok(0), |s| {
        s.parse::<u64>()
            .map_err(|_| corrupt(format!("{what} {s:?} is not an unsigned integer")))
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("{what} record does not parse: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::backend(format!("{what} to JSON"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_the_domain_are_corrupt() {
        assert_eq!(units(0).unwrap(), 0);
        assert_eq!(units(1_000_000_000_000_000).unwrap(), MAX_UNITS);
        for bad in [-1, 1_000_000_000_000_001, i64::MAX] {
            let e = units(bad).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        }
    }
}
