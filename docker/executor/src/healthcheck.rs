//! `executor healthcheck`: the image is FROM scratch, so there is no curl
//! for Docker's HEALTHCHECK; the binary probes itself instead.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::config::{ConfigError, health_target};

pub const TIMEOUT: Duration = Duration::from_secs(2);
const MAX_STATUS_LINE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("request to {addr} failed: {source}")]
    Io { addr: SocketAddr, source: io::Error },
    #[error("response has no HTTP status line: {0:?}")]
    Malformed(String),
    #[error("GET {path} answered {line:?}")]
    Status { path: String, line: String },
}

/// Probes the port and path the service itself reads (`API_PORT`, `HEALTH_PATH`), so a
/// stack that moves its health endpoint keeps a working image HEALTHCHECK.
pub fn run_from_env() -> Result<(), HealthcheckError> {
    let (port, path) = health_target(|name| std::env::var(name).ok())?;
    probe(SocketAddr::from(([127, 0, 0, 1], port)), &path, TIMEOUT)
}

/// HTTP/1.0 makes the server close the connection, so no keep-alive or
/// chunked handling is needed; only the status line is inspected.
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| HealthcheckError::Connect { addr, source })?;
    let io_error = |source| HealthcheckError::Io { addr, source };
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let line = read_status_line(&mut stream).map_err(io_error)?;
    check_status_line(&line, path)
}

fn read_status_line(stream: &mut impl Read) -> io::Result<String> {
    let mut received = Vec::new();
    let mut buf = [0u8; 512];
    while !received.windows(2).any(|w| w == b"\r\n") && received.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn check_status_line(line: &str, path: &str) -> Result<(), HealthcheckError> {
    let mut parts = line.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(HealthcheckError::Malformed(line.to_owned()));
    };
    if !version.starts_with("HTTP/") {
        return Err(HealthcheckError::Malformed(line.to_owned()));
    }
    if code == "200" {
        Ok(())
    } else {
        Err(HealthcheckError::Status {
            path: path.to_owned(),
            line: line.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_200() {
        assert!(check_status_line("HTTP/1.0 200 OK", "/health").is_ok());
        assert!(matches!(
            check_status_line("HTTP/1.1 503 Service Unavailable", "/healthz"),
            Err(HealthcheckError::Status { path, .. }) if path == "/healthz"
        ));
        assert!(matches!(
            check_status_line("", "/health"),
            Err(HealthcheckError::Malformed(_))
        ));
        assert!(matches!(
            check_status_line("SSH-2.0 200", "/health"),
            Err(HealthcheckError::Malformed(_))
        ));
    }

    #[test]
    fn reads_only_first_line() {
        let mut response: &[u8] = b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(read_status_line(&mut response).unwrap(), "HTTP/1.0 200 OK");
    }
}
