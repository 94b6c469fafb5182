//! The connection (single server or cluster) and the mapping of driver errors onto
//! [`StoreError`] kinds.

use std::future::Future;
use std::time::Duration;

use quota_core::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};

/// A multiplexed connection: cloning it is cheap and clones share the socket(s), so concurrent
/// calls are pipelined on the wire.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server, reconnected in the background after a failure.
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conn::Single(_) => f.write_str("Conn::Single"),
            Conn::Cluster(_) => f.write_str("Conn::Cluster"),
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Runs `fut` for at most `timeout`, mapping every failure onto a typed [`StoreError`].
pub(crate) async fn bounded<T>(
    timeout: Duration,
    what: &'static str,
    fut: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_elapsed) => Err(StoreError::Timeout(timeout)),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(map_error(e, timeout, what)),
    }
}

/// Maps a driver error: unreachable or restarting servers are `Unavailable`, slow ones
/// `Timeout`, anything else (script errors, wrong types) `Backend`.
pub(crate) fn map_error(e: RedisError, timeout: Duration, what: &'static str) -> StoreError {
    if e.is_timeout() {
        return StoreError::Timeout(timeout);
    }
    let unavailable = match e.kind() {
        ErrorKind::Io | ErrorKind::ClusterConnectionNotFound | ErrorKind::Parse => true,
        ErrorKind::Server(kind) => matches!(
            kind,
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
                | ServerErrorKind::ReadOnly
        ),
        _ => e.is_connection_dropped() || e.is_connection_refusal(),
    };
    if unavailable {
        StoreError::unavailable(format!("redis {what}: {e}"), e)
    } else {
        StoreError::backend(format!("redis {what}: {e}"), e)
    }
}
