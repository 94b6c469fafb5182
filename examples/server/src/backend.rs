//! Choosing the store from `--store` / `QUOTA_STORE_URL`. Adding a backend is one match arm.

use std::sync::Arc;

use quota_core::outbox::OutboxStore;
use quota_core::{MemoryStore, Store};
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_redis::{RedisOptions, RedisStore};

/// The kinds of store the URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// In-process memory (the default; lost at exit).
    Memory,
    /// Redis or Redis Cluster.
    Redis,
    /// PostgreSQL.
    Postgres,
}

impl StoreKind {
    /// Classifies a store URL.
    pub fn of(url: &str) -> Result<StoreKind, String> {
        let scheme = url.split_once("://").map_or(url, |(s, _)| s);
        match scheme.to_ascii_lowercase().as_str() {
            "memory" | "mem" | "" => Ok(StoreKind::Memory),
            "redis" | "rediss" | "redis+cluster" | "redis-cluster" => Ok(StoreKind::Redis),
            "postgres" | "postgresql" => Ok(StoreKind::Postgres),
            other => Err(format!(
                "unknown store {other:?}: use `memory`, `redis://host:port` or `postgres://user@host/db`"
            )),
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis => "redis",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// An opened store, with the other faces the server uses.
#[derive(Clone)]
pub struct OpenedStore {
    /// The usage store.
    pub store: Arc<dyn Store>,
    /// Which kind.
    pub kind: StoreKind,
    /// The alert outbox, in the same store.
    pub outbox: Arc<dyn OutboxStore>,
    /// The Postgres store itself (share-link revocations live there).
    pub postgres: Option<Arc<PostgresStore>>,
    /// The Redis store itself (share-link revocations live there).
    pub redis: Option<Arc<RedisStore>>,
}

/// Opens the store a URL names.
pub async fn open_store(url: &str) -> Result<(Arc<dyn Store>, StoreKind), String> {
    let opened = open(url).await?;
    Ok((opened.store, opened.kind))
}

/// Opens the store a URL names, with its outbox and backend-specific faces.
pub async fn open(url: &str) -> Result<OpenedStore, String> {
    let kind = StoreKind::of(url)?;
    Ok(match kind {
        StoreKind::Memory => {
            let s = Arc::new(MemoryStore::new());
            OpenedStore {
                store: s.clone(),
                kind,
                outbox: s,
                postgres: None,
                redis: None,
            }
        }
        StoreKind::Redis => {
            let s = Arc::new(open_redis(url).await?);
            OpenedStore {
                store: s.clone(),
                kind,
                outbox: s.clone(),
                postgres: None,
                redis: Some(s),
            }
        }
        StoreKind::Postgres => {
            let s = Arc::new(
                PostgresStore::connect(url, PostgresOptions::new())
                    .await
                    .map_err(|e| format!("cannot open the postgres store {}: {e}", redact(url)))?,
            );
            OpenedStore {
                store: s.clone(),
                kind,
                outbox: s.clone(),
                postgres: Some(s),
                redis: None,
            }
        }
    })
}

/// `redis://host:port[/db][?prefix=p]` (one server), or a cluster: `redis+cluster://h1:p1,h2:p2`
/// or comma-separated `redis://` URLs. `prefix` sets the key prefix (default `q`).
async fn open_redis(url: &str) -> Result<RedisStore, String> {
    let (base, prefix) = take_param(url, "prefix");
    let mut opts = RedisOptions::new();
    if let Some(p) = prefix {
        opts = opts.set_key_prefix(p);
    }
    let fail =
        |e: quota_core::StoreError| format!("cannot open the redis store {}: {e}", redact(url));
    let cluster = base.starts_with("redis+cluster://") || base.starts_with("redis-cluster://");
    if cluster || base.contains(',') {
        let rest = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
        let nodes: Vec<String> = rest
            .split(',')
            .map(|n| n.trim().trim_start_matches("redis://"))
            .filter(|n| !n.is_empty())
            .map(|n| format!("redis://{n}"))
            .collect();
        RedisStore::connect_cluster(nodes, opts).await.map_err(fail)
    } else {
        RedisStore::connect(&base, opts).await.map_err(fail)
    }
}

/// Removes `name=value` from the URL's query; returns the URL left and the value.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => {
                value = Some(v.to_owned());
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

/// The URL with any password masked, for logs and banners.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}
