//! A plain connection to the test backends (standalone or cluster) for commands the store
//! does not offer: reading TTLs, writing records by hand.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::common::{Backend, urls};

/// A standalone or cluster connection; on a cluster, commands go to their key's slot.
#[derive(Clone)]
pub enum Raw {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

/// Connects to `backend` at the URLs the store tests use.
pub async fn connect(backend: Backend) -> Raw {
    let urls = urls(backend);
    match backend {
        Backend::Standalone => Raw::Single(
            redis::Client::open(urls[0].as_str())
                .expect("redis url")
                .get_multiplexed_async_connection()
                .await
                .expect("connect to redis"),
        ),
        Backend::Cluster => Raw::Cluster(
            redis::cluster::ClusterClient::new(urls)
                .expect("cluster urls")
                .get_async_connection()
                .await
                .expect("connect to the cluster"),
        ),
    }
}

impl ConnectionLike for Raw {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Raw::Single(c) => c.req_packed_command(cmd),
            Raw::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Raw::Single(c) => c.req_packed_commands(cmd, offset, count),
            Raw::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Raw::Single(c) => c.get_db(),
            Raw::Cluster(c) => c.get_db(),
        }
    }
}
