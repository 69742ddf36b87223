//! `engine-assigned-port`: a fixed host port stops a second instance of the stack, and a
//! port on every interface is open to the network; `127.0.0.1::<container port>` fixes
//! both, and the harness reads the assigned port back from the engine.

use serde_yaml_ng::{Mapping, Value};

use super::apply::{Plan, list};
use super::edit::{Op, Path, RawEdit, Seg, child, render_path};
use super::tree;
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::interp;
use crate::compose::ports::{PortSpec, all_interfaces, ports, split_as_written};

const LOOPBACK: &str = "127.0.0.1";

pub(crate) fn engine_assigned(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        // `ports:` means nothing (or is refused) in another namespace.
        if svc.shares_network_namespace() {
            continue;
        }
        for entry in ports(&svc).into_iter().filter(|p| p.editable) {
            if let Some((mut entry_ops, site)) = fix(&entry.path.to_vec(), &entry.spec) {
                ops.append(&mut entry_ops);
                sites.push(site);
            }
        }
    }
    Plan::of(ops, || {
        format!(
            "Let the engine assign host ports on {LOOPBACK}: {}. A fixed or defaulted host \
             port makes a second instance (or anything else on that port) fail with \"port \
             is already allocated\", and a port on every interface is open to the whole \
             network.",
            list(&sites)
        )
    })
}

fn fix(path: &Path, spec: &PortSpec<'_>) -> Option<(Vec<Op>, String)> {
    let (old, new) = match spec {
        PortSpec::Number(n) => (n.clone(), format!("{LOOPBACK}::{n}")),
        PortSpec::Short(s) => (s.to_string(), short(s)?),
        PortSpec::Long(m) => return long(path, m),
    };
    let site = format!("{} `{old}` → `{new}`", render_path(path));
    let op = Op::SetStr {
        at: path.clone(),
        value: new,
        raw: RawEdit::Render,
    };
    Some((vec![op], site))
}

/// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]` → `IP::CONTAINER_PORT[/PROTOCOL]`,
/// keeping a host IP that is already specific; `None` when there is nothing to fix.
fn short(raw: &str) -> Option<String> {
    let parts = split_as_written(raw);
    let (container, rest) = parts.split_last()?;
    let container_now = interp::unset_or_as_written(container);
    // A variable holding the whole mapping cannot be split safely.
    if container_now.trim().is_empty() || container_now.contains(':') {
        return None;
    }
    let (host, ip) = match rest.split_last() {
        Some((host, ip)) => (*host, ip.join(":")),
        None => ("", String::new()),
    };
    let fixed = !interp::unset_or_as_written(host).trim().is_empty();
    let open = all_interfaces(&interp::unset_or_as_written(&ip));
    if !fixed && !open {
        return None;
    }
    let ip = if open { LOOPBACK.to_string() } else { ip };
    Some(format!("{ip}::{}", container.trim()))
}

/// Long-syntax keys the short form can say too (`mode` only matters to swarm).
const SHORT_ENOUGH: [&str; 5] = ["target", "published", "protocol", "host_ip", "mode"];

/// Long syntax: drop `published` and bind `host_ip` to loopback. Compose v1 knows no
/// `host_ip` in long syntax, so an entry the short form can say is rewritten in it.
fn long(path: &Path, m: &Mapping) -> Option<(Vec<Op>, String)> {
    let target = tree::get_str(m, "target").filter(|t| !t.trim().is_empty())?;
    let published =
        tree::get_str(m, "published").filter(|p| !interp::unset_or_as_written(p).trim().is_empty());
    let host_ip = tree::get_str(m, "host_ip");
    let open = all_interfaces(&interp::unset_or_as_written(
        host_ip.as_deref().unwrap_or_default(),
    ));
    if published.is_none() && !open {
        return None;
    }
    let specific_ip = host_ip.filter(|_| !open);
    let short_enough = m
        .keys()
        .all(|k| k.as_str().is_some_and(|k| SHORT_ENOUGH.contains(&k)));
    if short_enough {
        let ip = specific_ip.unwrap_or_else(|| LOOPBACK.to_string());
        let protocol = tree::get_str(m, "protocol")
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        let new = format!("{ip}::{}{protocol}", target.trim());
        let site = format!("{} (long syntax) → `{new}`", render_path(path));
        let op = Op::Replace {
            at: path.clone(),
            value: Value::String(new),
        };
        return Some((vec![op], site));
    }
    let mut ops = Vec::new();
    let mut what = Vec::new();
    if let Some(p) = &published {
        ops.push(Op::Remove {
            at: child(path, Seg::key("published")),
        });
        what.push(format!("no fixed `published: {p}`"));
    }
    if open {
        ops.push(match m.get("host_ip") {
            Some(_) => Op::SetStr {
                at: child(path, Seg::key("host_ip")),
                value: LOOPBACK.to_string(),
                raw: RawEdit::Render,
            },
            None => Op::Set {
                at: path.clone(),
                key: "host_ip".to_string(),
                value: Value::String(LOOPBACK.to_string()),
            },
        });
        what.push(format!("`host_ip: {LOOPBACK}`"));
    }
    Some((
        ops,
        format!("{} gets {}", render_path(path), what.join(" and ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::tests::{applied, changed_lines, not_applicable};

    const ID: &str = "engine-assigned-port";

    #[test]
    fn short_syntax_becomes_engine_assigned_on_loopback() {
        for (from, to) in [
            ("${API_EXTERNAL_PORT:-7001}:7000", "127.0.0.1::7000"),
            ("7003-7010:7003", "127.0.0.1::7003"),
            ("0.0.0.0:7001:7000", "127.0.0.1::7000"),
            ("127.0.0.1:7001:7000/udp", "127.0.0.1::7000/udp"),
            ("[::1]:7001:7000", "[::1]::7000"),
            (
                "${BIND:-127.0.0.1}:${P:-9000}:7000",
                "${BIND:-127.0.0.1}::7000",
            ),
            ("7000", "127.0.0.1::7000"),
            ("${P}:7000", "127.0.0.1::7000"),
        ] {
            assert_eq!(short(from).as_deref(), Some(to), "{from}");
        }
        for same in [
            "127.0.0.1::7000",
            "[::1]::7000",
            "${PORTS}",
            "",
            "127.0.0.1:${P:-}:80",
        ] {
            assert_eq!(short(same), None, "{same}");
        }
    }

    #[test]
    fn every_port_of_every_service_in_its_own_quoting() {
        let text = "services:\n  api:\n    image: x\n    ports:\n      # comment kept\n      - \"${API_EXTERNAL_PORT:-7001}:7000\"\n      - 7003-7010:7003   # trailing\n      - 9000\n  db:\n    image: y\n    ports: ['5432:5432']\n";
        let m = applied(ID, text);
        assert_eq!(
            m.yaml,
            "services:\n  api:\n    image: x\n    ports:\n      # comment kept\n      - \"127.0.0.1::7000\"\n      - 127.0.0.1::7003   # trailing\n      - 127.0.0.1::9000\n  db:\n    image: y\n    ports: ['127.0.0.1::5432']\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 4);
        assert!(
            m.reason.contains(
                "services.api.ports[0] `${API_EXTERNAL_PORT:-7001}:7000` → `127.0.0.1::7000`"
            ),
            "{}",
            m.reason
        );
        assert!(m.reason.contains("services.db.ports[0]"), "{}", m.reason);
    }

    #[test]
    fn long_syntax_becomes_short_where_it_can() {
        let text = "services:\n  api:\n    ports:\n      - target: 7000\n        published: 7001\n        protocol: udp\n      - target: 9000\n        host_ip: 0.0.0.0\n      - target: 9001\n        published: \"${P:-9001}\"\n        host_ip: 127.0.0.2\n    command: run\n";
        let m = applied(ID, text);
        assert_eq!(
            m.yaml,
            "services:\n  api:\n    ports:\n      - 127.0.0.1::7000/udp\n      - 127.0.0.1::9000\n      - 127.0.0.2::9001\n    command: run\n"
        );
        assert!(
            m.reason
                .contains("services.api.ports[0] (long syntax) → `127.0.0.1::7000/udp`"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn long_syntax_with_more_options_keeps_its_form() {
        let text = "services:\n  api:\n    ports:\n      - name: web\n        target: 7000\n        published: 7001\n        app_protocol: http\n";
        let m = applied(ID, text);
        assert_eq!(
            m.yaml,
            "services:\n  api:\n    ports:\n      - name: web\n        target: 7000\n        app_protocol: http\n        host_ip: 127.0.0.1\n"
        );
    }

    #[test]
    fn nothing_to_fix() {
        not_applicable(
            ID,
            "services:\n  api:\n    ports:\n      - \"127.0.0.1::7000\"\n      - target: 80\n        host_ip: 127.0.0.1\n",
        );
        not_applicable(
            ID,
            "services:\n  api:\n    network_mode: host\n    ports: [\"80:80\"]\n",
        );
        not_applicable(ID, "services:\n  api:\n    ports: \"80:80\"\n");
        not_applicable(ID, "services:\n  api:\n    image: x\n");
    }
}
