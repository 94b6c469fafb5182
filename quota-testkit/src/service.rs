//! Service URLs for tests: from an environment variable or a default, checked to answer.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a TCP connect to a service may take before it counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The URL in `var` (else `default`) when every `host:port` it names accepts a TCP
/// connection; otherwise [skips](crate::skip()) `test` with the reason and `hint` (how to start the
/// service) and returns `None`. A comma-separated list of URLs (a Redis cluster) is checked
/// node by node.
pub fn url_or_skip(test: &str, var: &str, default: &str, hint: &str) -> Option<String> {
    let url = std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned());
    match unreachable_node(&url) {
        None => Some(url),
        Some(why) => {
            crate::skip(test, &format!("{var}: {why}; {hint}"));
            None
        }
    }
}

/// `None` when every node of `url` accepts a TCP connection, else why not.
pub fn unreachable_node(url: &str) -> Option<String> {
    let nodes = nodes(url);
    if nodes.is_empty() {
        return Some(format!("no host:port in {url:?}"));
    }
    nodes.iter().find_map(|node| match connect(node) {
        Ok(()) => None,
        Err(e) => Some(format!("nothing answers at {node}: {e}")),
    })
}

/// The `host:port` pairs of a URL or comma-separated URLs (`scheme://[user@]host:port/...`).
/// A node without a port is left out.
pub fn nodes(url: &str) -> Vec<String> {
    url.split(',')
        .filter_map(|part| {
            let rest = part
                .trim()
                .split_once("://")
                .map_or(part.trim(), |(_, r)| r);
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = host_port.rsplit_once(':')?;
            (!host.is_empty() && port.parse::<u16>().is_ok()).then(|| host_port.to_owned())
        })
        .collect()
}

fn connect(node: &str) -> std::io::Result<()> {
    let addrs: Vec<SocketAddr> = node.to_socket_addrs()?.collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::{nodes, unreachable_node};

    #[test]
    fn nodes_are_read_from_single_and_cluster_urls() {
        assert_eq!(nodes("redis://127.0.0.1:6379"), vec!["127.0.0.1:6379"]);
        assert_eq!(
            nodes("redis://127.0.0.1:7101,redis://127.0.0.1:7102/0?x=1"),
            vec!["127.0.0.1:7101", "127.0.0.1:7102"]
        );
        assert_eq!(
            nodes("postgres://postgres:pw@db.local:5432/test?sslmode=disable"),
            vec!["db.local:5432"]
        );
        assert_eq!(nodes("memory"), Vec::<String>::new());
    }

    #[test]
    fn a_listening_port_is_reachable_and_a_closed_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(unreachable_node(&format!("redis://{addr}")), None);
        drop(listener);
        // Port 0 is never connectable.
        let why = unreachable_node("redis://127.0.0.1:0").unwrap();
        assert!(why.contains("127.0.0.1:0"), "{why}");
        assert!(unreachable_node("memory").unwrap().contains("no host:port"));
    }
}
