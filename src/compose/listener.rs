//! Where a URL in one service's environment lands in the project: the `scheme://host:port`
//! read from a value, and the other service that listens there (by the kind of server
//! its scheme or port names, else by a container port it publishes or exposes). The
//! catalog's `service-host` fix repoints a loopback URL at that service; lint's
//! `loopback-service-url` reports only URLs that are such a connection.

use serde_yaml_ng::Value;

use super::conventions::image_base;
use super::interp;
use super::read::{get_seq, get_str, scalar};
use super::service::Service;
use super::url::{authority_len_with_vars, spans};

/// `scheme://[userinfo@]host[:port]`, as found in a value.
pub struct Url<'a> {
    /// The whole match, scheme to the end of the authority.
    pub text: &'a str,
    pub scheme: &'a str,
    pub host: &'a str,
    /// Byte range of the host in `text` (brackets included for IPv6).
    pub host_at: (usize, usize),
    pub port: Option<u16>,
}

impl Url<'_> {
    pub fn is_web(&self) -> bool {
        ["http", "https", "ws", "wss"]
            .iter()
            .any(|s| self.scheme.eq_ignore_ascii_case(s))
    }

    pub fn with_host(&self, host: &str) -> String {
        format!(
            "{}{host}{}",
            &self.text[..self.host_at.0],
            &self.text[self.host_at.1..]
        )
    }

    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or_else(|| {
            let scheme = self.scheme.to_ascii_lowercase();
            KINDS
                .iter()
                .find(|k| k.schemes.contains(&scheme.as_str()))
                .map(|k| k.port)
                .or(match scheme.as_str() {
                    "http" | "ws" => Some(80),
                    "https" | "wss" => Some(443),
                    _ => None,
                })
        })
    }
}

pub fn urls(s: &str) -> Vec<Url<'_>> {
    spans(s, authority_len_with_vars)
        .into_iter()
        .filter_map(|span| {
            let text = &s[span.scheme.start..span.authority.end];
            parse(text, span.scheme.len() + 3)
        })
        .collect()
}

/// Splits the authority (which starts at `auth` in `text`) into host and port.
fn parse(text: &str, auth: usize) -> Option<Url<'_>> {
    let authority = &text[auth..];
    let host_start = auth + authority.rfind('@').map(|i| i + 1).unwrap_or(0);
    let hostport = &text[host_start..];
    let (host_len, port) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        (close + 1, hostport[close + 1..].strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.len(), Some(p)),
            None => (hostport.len(), None),
        }
    };
    Some(Url {
        text,
        scheme: &text[..auth - 3],
        host: &text[host_start..host_start + host_len],
        host_at: (host_start, host_start + host_len),
        port: port.and_then(|p| p.parse().ok()),
    })
}

/// A kind of server recognised by URL scheme or port, and by image or service name.
pub struct Kind {
    pub names: &'static [&'static str],
    pub schemes: &'static [&'static str],
    pub port: u16,
}

pub const KINDS: [Kind; 9] = [
    Kind {
        names: &["redis", "valkey", "keydb"],
        schemes: &["redis", "rediss"],
        port: 6379,
    },
    Kind {
        names: &["postgres", "postgis", "timescale"],
        schemes: &["postgres", "postgresql"],
        port: 5432,
    },
    Kind {
        names: &["mysql", "mariadb"],
        schemes: &["mysql", "mariadb"],
        port: 3306,
    },
    Kind {
        names: &["mongo"],
        schemes: &["mongodb"],
        port: 27017,
    },
    Kind {
        names: &["rabbitmq"],
        schemes: &["amqp", "amqps"],
        port: 5672,
    },
    Kind {
        names: &["memcached"],
        schemes: &["memcached"],
        port: 11211,
    },
    Kind {
        names: &["elasticsearch", "opensearch"],
        schemes: &[],
        port: 9200,
    },
    Kind {
        names: &["kafka"],
        schemes: &["kafka"],
        port: 9092,
    },
    Kind {
        names: &["nats"],
        schemes: &["nats"],
        port: 4222,
    },
];

/// The one other service that listens where `url` points (see [`listeners`]); `None`
/// when none does or several might.
pub fn listener(all: &[Service<'_>], from: &Service<'_>, url: &Url<'_>) -> Option<String> {
    match listeners(all, from, url).as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// The other services that may listen where `url` points: those of the kind of server
/// its scheme or port names, else those that publish or expose its port.
pub fn listeners<'s>(all: &'s [Service<'_>], from: &Service<'_>, url: &Url<'_>) -> Vec<&'s str> {
    let others: Vec<&Service<'_>> = all.iter().filter(|s| s.name != from.name).collect();
    let scheme = url.scheme.to_ascii_lowercase();
    let port = url.port_or_default();
    let by_kind: Vec<&str> = KINDS
        .iter()
        .filter(|k| k.schemes.contains(&scheme.as_str()) || port == Some(k.port))
        .flat_map(|k| {
            others
                .iter()
                .filter(|s| is_kind(s, k))
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
        })
        .collect();
    if !by_kind.is_empty() {
        return by_kind;
    }
    let Some(port) = port else {
        return Vec::new();
    };
    others
        .iter()
        .filter(|s| container_ports(s).contains(&port))
        .map(|s| s.name.as_str())
        .collect()
}

/// Whether the scheme is a data store's or a queue's (`redis`, `postgres`, `amqp`, …).
pub fn store_scheme(scheme: &str) -> bool {
    let scheme = scheme.to_ascii_lowercase();
    KINDS.iter().any(|k| k.schemes.contains(&scheme.as_str()))
}

pub fn is_kind(svc: &Service<'_>, kind: &Kind) -> bool {
    let image = svc
        .image()
        .map(|i| image_base(&interp::unset_or_as_written(&i)));
    let name = svc.name.to_ascii_lowercase();
    kind.names.iter().any(|n| {
        image.as_deref().is_some_and(|i| i.starts_with(n))
            || (image.is_none() && name.contains(n))
            || name == *n
    }) && !image.as_deref().is_some_and(|i| {
        ["commander", "insight", "exporter", "admin"]
            .iter()
            .any(|tool| i.contains(tool))
    })
}

/// Container ports a service publishes or exposes.
pub fn container_ports(svc: &Service<'_>) -> Vec<u16> {
    let mut out = Vec::new();
    for key in ["ports", "expose"] {
        for v in get_seq(svc.body, key).unwrap_or_default() {
            let text = match v {
                Value::Mapping(m) => get_str(m, "target"),
                other => scalar(other),
            };
            let Some(text) = text.map(|t| interp::unset_or_as_written(&t)) else {
                continue;
            };
            let last = text.rsplit(':').next().unwrap_or(&text);
            let port = last.split('/').next().unwrap_or(last);
            if let Ok(p) = port.trim().parse() {
                out.push(p);
            }
        }
    }
    out
}
