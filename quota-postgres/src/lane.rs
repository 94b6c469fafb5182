//! The consume lane: a few dedicated connections for the hot path, reused without sqlx's
//! per-release ping.
//!
//! sqlx's pool sends a Sync round trip (`ping`) on every connection release, from a spawned
//! task, so a pooled consume costs two round trips and two wake-ups of client and server.
//! On a hot counter every consume waits for the previous one's commit anyway, and that extra
//! work competes for the same cores. The lane keeps its own idle connections and hands them
//! back without a ping when the call completed (its response was read up to `ReadyForQuery`,
//! so the connection is known to be idle). A call that failed is pinged (a server error
//! leaves the connection usable), and a call that was cancelled mid-flight drops its
//! connection, whose state is unknown; the server rolls back whatever it had not committed.
//!
//! Like the pool, the lane opens connections on demand (at most its size), waits at most the
//! acquire timeout for one, and pings a connection that sat idle longer than the idle check
//! (a server restart may have killed it).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Dedicated connections of a [`crate::PostgresStore`] for consumes.
#[derive(Debug)]
pub(crate) struct Lane {
    connect: PgConnectOptions,
    permits: Semaphore,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    acquire_timeout: Duration,
    idle_check: Duration,
}

/// A lane connection in use: back to the lane by [`LaneConn::done`]; dropped (closed)
/// when the call is cancelled before that.
pub(crate) struct LaneConn<'a> {
    lane: &'a Lane,
    pub(crate) conn: PgConnection,
    _permit: SemaphorePermit<'a>,
}

impl Lane {
    pub(crate) fn new(
        connect: PgConnectOptions,
        size: u32,
        acquire_timeout: Duration,
        idle_check: Duration,
    ) -> Self {
        Lane {
            connect,
            permits: Semaphore::new(usize::try_from(size).unwrap_or(usize::MAX)),
            idle: Mutex::new(Vec::new()),
            acquire_timeout,
            idle_check,
        }
    }

    /// Waits (at most the acquire timeout) for a slot, then reuses an idle connection or
    /// opens one.
    pub(crate) async fn acquire(&self) -> Result<LaneConn<'_>, sqlx::Error> {
        // No deadline when the timeout is too large to represent.
        let deadline = tokio::time::Instant::now().checked_add(self.acquire_timeout);
        let permit = within(deadline, self.permits.acquire())
            .await?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let cached = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some((mut conn, since)) = cached else {
                break;
            };
            if since.elapsed() <= self.idle_check || conn.ping().await.is_ok() {
                return Ok(LaneConn {
                    lane: self,
                    conn,
                    _permit: permit,
                });
            }
            // Dead (e.g. the server restarted): drop it, try the next idle one.
        }
        let conn = within(deadline, PgConnection::connect_with(&self.connect)).await??;
        Ok(LaneConn {
            lane: self,
            conn,
            _permit: permit,
        })
    }

    /// Refuses new calls and closes the idle connections (those in use are closed when
    /// their call ends).
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = self
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle))
            .unwrap_or_default();
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }

    fn put_back(&self, conn: PgConnection) {
        if self.permits.is_closed() {
            return; // closed meanwhile: dropping the connection closes its socket
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((conn, Instant::now()));
        }
    }
}

/// `fut`, failing with `PoolTimedOut` past `deadline` (if any).
async fn within<F: Future>(
    deadline: Option<tokio::time::Instant>,
    fut: F,
) -> Result<F::Output, sqlx::Error> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut),
        None => Ok(fut.await),
    }
}

impl LaneConn<'_> {
    /// Ends the call. A call that completed (`ok`) read its response up to `ReadyForQuery`,
    /// so the connection goes back as is; after an error it is pinged first, and dropped
    /// if that fails.
    pub(crate) async fn done(self, ok: bool) {
        let LaneConn {
            lane,
            mut conn,
            _permit,
        } = self;
        if ok || conn.ping().await.is_ok() {
            lane.put_back(conn);
        }
    }
}
