//! Choosing the store from `--store` / `QUOTA_STORE_URL`. Adding a backend is one match arm.

use std::sync::Arc;

use quota_core::{MemoryStore, Store};

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

/// Opens the store a URL names.
pub async fn open_store(url: &str) -> Result<(Arc<dyn Store>, StoreKind), String> {
    let kind = StoreKind::of(url)?;
    let store: Arc<dyn Store> = match kind {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Redis | StoreKind::Postgres => {
            return Err(format!(
                "the {} store is not built into quota-server yet (its crate has not landed); use --store memory",
                kind.name()
            ));
        }
    };
    Ok((store, kind))
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
