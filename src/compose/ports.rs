//! A service's `ports:` entries, short or long syntax, each with its place in the file, and
//! what an entry publishes on a machine where no variable is set.

use serde_yaml_ng::{Mapping, Value};

use super::interp;
use super::path::Path;
use super::read::{get_seq, get_str, untag};
use super::service::Service;

/// How one `ports:` entry is written (through tags).
pub enum PortSpec<'a> {
    /// `- 8080`: a container port only.
    Number(String),
    /// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, as written.
    Short(&'a str),
    /// `target:`, `published:`, `host_ip:`, `protocol:` and the rest.
    Long(&'a Mapping),
}

pub struct PortEntry<'a> {
    pub spec: PortSpec<'a>,
    /// The entry's place in the `ports:` list.
    pub index: usize,
    pub path: Path,
    /// Neither the list nor the entry is tagged, so the editor can rewrite it in place.
    pub editable: bool,
}

/// The entries of the service's `ports:` list that are a number, a string or a mapping,
/// in file order.
pub fn ports<'a>(svc: &Service<'a>) -> Vec<PortEntry<'a>> {
    let base = svc.at("ports");
    let list_untagged = matches!(svc.body.get("ports"), Some(Value::Sequence(_)));
    get_seq(svc.body, "ports")
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let spec = match untag(v) {
                Value::Number(n) => PortSpec::Number(n.to_string()),
                Value::String(s) => PortSpec::Short(s),
                Value::Mapping(m) => PortSpec::Long(m),
                _ => return None,
            };
            Some(PortEntry {
                spec,
                index: i,
                path: base.index(i),
                editable: list_untagged && !matches!(v, Value::Tagged(_)),
            })
        })
        .collect()
}

/// One entry as Compose sees it where no variable is set.
#[derive(Debug, PartialEq, Eq)]
pub struct Published {
    pub host_ip: String,
    pub host_port: String,
    /// The container port, with `/protocol` when one is given.
    pub container: String,
    /// The host part was interpolated, so the fixed port is a default.
    pub from_default: bool,
}

impl PortSpec<'_> {
    /// What the entry publishes; `None` when it cannot be read (a malformed `${`, no
    /// container port).
    pub fn published(&self) -> Option<Published> {
        match self {
            PortSpec::Number(n) => Some(Published {
                host_ip: String::new(),
                host_port: String::new(),
                container: n.clone(),
                from_default: false,
            }),
            PortSpec::Short(s) => short(s),
            PortSpec::Long(m) => long(m),
        }
    }
}

fn long(m: &Mapping) -> Option<Published> {
    let raw = |k: &str| get_str(m, k).unwrap_or_default();
    let (ip, port, target) = (raw("host_ip"), raw("published"), raw("target"));
    if target.trim().is_empty() {
        return None;
    }
    let proto = raw("protocol");
    let container = if proto.trim().is_empty() {
        target
    } else {
        format!("{target}/{}", proto.trim())
    };
    Some(Published {
        host_ip: interp::unset(&ip),
        host_port: interp::unset(&port),
        container,
        from_default: port.contains('$'),
    })
}

/// Split the way Compose splits after interpolation: the last part is the container port,
/// the one before it the host port, and everything earlier the IP (so an unbracketed IPv6
/// address still works).
fn short(raw: &str) -> Option<Published> {
    let parsed = interp::parse(raw);
    if parsed.invalid {
        return None;
    }
    let text = parsed.unset.trim();
    if text.is_empty() {
        return None;
    }
    let parts: Vec<&str> = text.split(':').collect();
    let n = parts.len();
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let from_default = n > 1 && host_part_interpolated(raw, n);
    Some(Published {
        host_ip: ip,
        host_port: host.to_string(),
        container: parts[n - 1].to_string(),
        from_default,
    })
}

/// Whether the host port was written as a variable. Interpolation loses where each part
/// came from, so the raw text is split at the colons outside `${...}`; when that gives a
/// different shape (a default holding a colon), any variable counts.
fn host_part_interpolated(raw: &str, n: usize) -> bool {
    let parts = split_outside(raw, "{", "}");
    if parts.len() == n {
        parts[n - 2].contains('$')
    } else {
        raw.contains('$')
    }
}

/// Splits at the colons that are outside `${...}` and an IPv6 `[...]`: the parts of a
/// short-syntax entry as written.
pub fn split_as_written(raw: &str) -> Vec<&str> {
    split_outside(raw, "{[", "}]")
}

fn split_outside<'s>(raw: &'s str, open: &str, close: &str) -> Vec<&'s str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in raw.char_indices() {
        if open.contains(c) {
            depth += 1;
        } else if close.contains(c) {
            depth = depth.saturating_sub(1);
        } else if c == ':' && depth == 0 {
            parts.push(&raw[start..i]);
            start = i + 1;
        }
    }
    parts.push(&raw[start..]);
    parts
}

/// A host IP that binds every interface: none, `0.0.0.0` or `::`, bracketed or not.
pub fn all_interfaces(ip: &str) -> bool {
    let ip = ip.trim().trim_start_matches('[').trim_end_matches(']');
    matches!(ip, "" | "0.0.0.0" | "::")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::service::services;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn entries_keep_their_index_and_editability() {
        let d = doc(
            "services:\n  a:\n    ports: [7000, \"1:2\", null, {target: 3}, !x \"4:5\"]\n  b:\n    ports: !override [\"6:7\"]\n",
        );
        let s = services(&d);
        let a = ports(&s[0]);
        let shown: Vec<(String, bool)> = a.iter().map(|p| (p.path.render(), p.editable)).collect();
        assert_eq!(
            shown,
            vec![
                ("services.a.ports[0]".into(), true),
                ("services.a.ports[1]".into(), true),
                ("services.a.ports[3]".into(), true),
                ("services.a.ports[4]".into(), false),
            ]
        );
        let b = ports(&s[1]);
        assert_eq!(b.len(), 1);
        assert!(!b[0].editable);
    }

    #[test]
    fn short_and_long_syntax_read_alike() {
        let got = short("127.0.0.1:${P:-7001}:7000/udp").unwrap();
        assert_eq!(
            got,
            Published {
                host_ip: "127.0.0.1".into(),
                host_port: "7001".into(),
                container: "7000/udp".into(),
                from_default: true,
            }
        );
        let m = doc("{target: 7000, published: 7001, protocol: udp}");
        let long = long(m.as_mapping().unwrap()).unwrap();
        assert_eq!(
            (long.host_port.as_str(), long.container.as_str()),
            ("7001", "7000/udp")
        );
        assert!(short("${A").is_none());
    }

    #[test]
    fn ipv6_and_variables_stay_whole_when_split_as_written() {
        assert_eq!(
            split_as_written("[::1]:${P:-80}:7000"),
            vec!["[::1]", "${P:-80}", "7000"]
        );
        assert!(all_interfaces("[::]") && all_interfaces("") && !all_interfaces("127.0.0.1"));
    }
}
