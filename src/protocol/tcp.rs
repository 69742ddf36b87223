//! A dependency's TCP port, checked from inside the project's network: the harness runs
//! its own image there with the hidden `tcp-connect` subcommand, so nothing of the
//! project has to be published for the check (the network rule).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::engine::{Docker, EngineError, ProbeContainer, run_labels};
use crate::images::REAPER_IMAGE;

use super::Plan;

/// Where the harness binary sits in its own image.
const HARNESS_IN_IMAGE: &str = "/usr/local/bin/harness";

/// Connects to `address` (`host:port`, the host resolved here); the peer connected to,
/// or why not.
pub fn tcp_connect(address: &str, timeout: Duration) -> Result<String, String> {
    let addrs = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?;
    let mut last = format!("{address} resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(addr.to_string()),
            Err(e) => last = format!("connect {address} ({addr}): {e}"),
        }
    }
    Err(last)
}

/// `tcp-connect host:port` in a container on `network`: its exit code and output.
pub(crate) async fn connect_in_network(
    docker: &Docker,
    plan: &Plan,
    network: &str,
    host: &str,
    port: u16,
) -> Result<(i64, String), EngineError> {
    let timeout = plan.probe_timeout();
    ProbeContainer {
        image: REAPER_IMAGE,
        entrypoint: vec![HARNESS_IN_IMAGE.to_string()],
        cmd: vec![
            "tcp-connect".into(),
            format!("{host}:{port}"),
            "--timeout-ms".into(),
            (timeout.as_millis() / 2).to_string(),
        ],
        network,
        labels: run_labels(plan.run, &plan.task),
        timeout,
    }
    .run(docker)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_connects_and_a_closed_one_says_why() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let open = tcp_connect(&format!("127.0.0.1:{port}"), Duration::from_secs(2));
        assert_eq!(open, Ok(format!("127.0.0.1:{port}")));
        drop(listener);
        let closed = tcp_connect(&format!("127.0.0.1:{port}"), Duration::from_secs(2));
        assert!(closed.is_err_and(|e| e.contains("connect 127.0.0.1")));
    }
}
