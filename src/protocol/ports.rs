//! The seed's default host ports, occupied by the harness itself so a config that
//! hardcodes them must fail, and one that lets the engine choose must not.

use std::net::TcpListener;

use serde::Serialize;

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
    /// Binds 127.0.0.1 on each port. A port another process holds is occupied all the same,
    /// which is all this step needs.
    pub fn occupy(ports: &[u16]) -> PortHold {
        let mut listeners = Vec::new();
        let mut held = Vec::new();
        for &port in ports {
            match TcpListener::bind(("127.0.0.1", port)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_ports_cannot_be_bound_until_released() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let hold = PortHold::occupy(&[port]);
        assert!(hold.contains(port));
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        drop(hold);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
