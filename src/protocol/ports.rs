//! The candidate's default host ports, occupied by the harness itself so a config that
//! hardcodes them must fail, and one that lets the engine choose must not.

use std::collections::BTreeSet;
use std::net::TcpListener;

use serde::Serialize;

use crate::compose::ComposeFile;
use crate::compose::ports::ports;
use crate::compose::service::services;

/// The host ports `file` binds where no variable is set: fixed ones (`"8081:8080"`) and
/// defaults (`"${API_PORT:-8081}:8080"`), each once, in order. An engine-assigned entry
/// (`"127.0.0.1::8080"`) or a range holds nothing.
pub fn default_host_ports(file: &ComposeFile) -> Vec<u16> {
    let held: BTreeSet<u16> = services(&file.doc)
        .iter()
        .flat_map(ports)
        .filter_map(|entry| entry.spec.published())
        .filter_map(|p| p.host_port.trim().parse().ok())
        .filter(|port: &u16| *port != 0)
        .collect();
    held.into_iter().collect()
}

/// One default port and whether the harness holds it or someone else already did.
#[derive(Debug, Serialize)]
pub struct Held {
    pub port: u16,
    /// "held by the harness" or the reason it could not be bound (already taken).
    pub state: String,
}

/// Listeners that live until dropped.
#[derive(Debug)]
pub struct PortHold {
    pub ports: Vec<Held>,
    _listeners: Vec<TcpListener>,
}

impl PortHold {
    /// Listens on 127.0.0.1 on each port. A port another process holds is occupied all the
    /// same, which is all this step needs.
    pub fn occupy(ports: &[u16]) -> PortHold {
        let mut listeners = Vec::new();
        let mut held = Vec::new();
        for &port in ports {
            match listen_shared(port) {
                Ok(l) => {
                    listeners.push(l);
                    held.push(Held {
                        port,
                        state: "held by the harness".into(),
                    });
                }
                Err(e) => held.push(Held {
                    port,
                    state: format!("already taken: {e}"),
                }),
            }
        }
        PortHold {
            ports: held,
            _listeners: listeners,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ports.iter().any(|h| h.port == port)
    }
}

/// SO_REUSEPORT lets every concurrent harness hold the same default ports at once, so no
/// run's deploy slips into the gap when another run releases them; the engine, which does
/// not set it, still cannot bind them.
fn listen_shared(port: u16) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_port(true)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(16)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_ports_are_the_ones_the_file_binds_by_default() {
        let text = r#"
services:
  app:
    image: a
    ports:
      - "${API_PORT:-7001}:7000"
      - "127.0.0.1:9100:9000/udp"
      - "127.0.0.1::7003"
      - "${WS_PORT}:7004"
      - 8005
      - {target: 8006, published: "${LONG:-8106}"}
      - {target: 8007, published: 7001}
  db:
    image: b
    ports: ["6380:6379", "7000-7001:7000-7001"]
"#;
        let file = ComposeFile::parse("t", text, 1).unwrap();
        assert_eq!(default_host_ports(&file), vec![6380, 7001, 8106, 9100]);
    }

    #[test]
    fn held_ports_cannot_be_bound_until_released() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let hold = PortHold::occupy(&[port]);
        let other = PortHold::occupy(&[port]);
        assert!(hold.contains(port));
        assert_eq!(hold.ports[0].state, "held by the harness");
        assert_eq!(
            other.ports[0].state, "held by the harness",
            "two harnesses hold it together"
        );
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        assert!(
            TcpListener::bind(("0.0.0.0", port)).is_err(),
            "the engine's bind must fail"
        );
        drop(hold);
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_err(),
            "still held by the other"
        );
        drop(other);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
