//! Published ports: a fixed host port stops a second instance; a port on every interface
//! exposes the service to the whole network.

use std::collections::BTreeMap;

use super::catalog::{
    DUPLICATE_HOST_PORT, HARDCODED_HOST_PORT, PORT_ALL_INTERFACES, UNQUOTED_PORT,
};
use super::finding::{Path, Sink};
use super::run::Ctx;
use super::yaml;
use crate::compose::ports::{PortSpec, Published, all_interfaces, ports};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    // (host port, protocol) → every (host IP, service) that binds it so far.
    let mut bound: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for svc in &ctx.services {
        // The engine ignores `ports:` with host networking.
        if yaml::get_str(svc.body, "network_mode").as_deref() == Some("host") {
            continue;
        }
        for entry in ports(svc) {
            if let PortSpec::Short(s) = entry.spec {
                unquoted(ctx, s, &entry.path, sink);
            }
            if let Some(p) = entry.spec.published() {
                report(&p, &entry.path, sink);
                duplicate(&p, &svc.name, &entry.path, &mut bound, sink);
            }
        }
    }
}

/// YAML 1.1 reads an unquoted `22:22` as a base-60 number; Compose's own reader does not,
/// but other tools reading the file do, and dclint asks for quotes.
fn unquoted(ctx: &Ctx<'_>, s: &str, path: &Path, sink: &mut Sink) {
    if !s.contains(':') {
        return;
    }
    let Some(raw) = ctx.raw(path) else {
        return;
    };
    if raw.starts_with('"') || raw.starts_with('\'') {
        return;
    }
    sink.add(
        &UNQUOTED_PORT,
        path,
        format!(
            "port `{s}` is not quoted: a YAML 1.1 reader turns `xx:yy` with yy < 60 into a \
             base-60 number — write it as \"{s}\""
        ),
    );
}

fn all_interfaces_ip(ip: &str) -> String {
    if all_interfaces(ip) {
        "*".to_string()
    } else {
        ip.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string()
    }
}

fn duplicate(
    p: &Published,
    service: &str,
    path: &Path,
    bound: &mut BTreeMap<(String, String), Vec<(String, String)>>,
    sink: &mut Sink,
) {
    let port = p.host_port.trim();
    if port.is_empty() {
        return;
    }
    let (_, proto) = p.container.split_once('/').unwrap_or(("", "tcp"));
    let proto = if proto.trim().is_empty() {
        "tcp"
    } else {
        proto.trim()
    };
    let ip = all_interfaces_ip(&p.host_ip);
    let key = (port.to_string(), proto.to_ascii_lowercase());
    let others = bound.entry(key).or_default();
    if let Some((_, other)) = others
        .iter()
        .find(|(o_ip, _)| *o_ip == ip || *o_ip == "*" || ip == "*")
    {
        sink.add(
            &DUPLICATE_HOST_PORT,
            path,
            format!(
                "host port {port}/{proto} is already published by `{other}`: the second \
                 bind fails with \"port is already allocated\" — give each its own port, or \
                 let the engine assign them"
            ),
        );
    }
    others.push((ip, service.to_string()));
}

fn report(p: &Published, path: &Path, sink: &mut Sink) {
    let container = p.container.trim();
    let engine_assigned = format!("`127.0.0.1::{container}`");
    let host_port = p.host_port.trim();
    if !host_port.is_empty() {
        let message = if p.from_default {
            format!(
                "host port defaults to {host_port}: wherever the variable is unset, a second \
                 instance or anything else on {host_port} makes `up` fail with \"port is \
                 already allocated\" — let the engine assign one ({engine_assigned})"
            )
        } else {
            format!(
                "host port {host_port} is fixed: a second instance or anything else on that \
                 port makes `up` fail with \"port is already allocated\" — let the engine \
                 assign one ({engine_assigned})"
            )
        };
        sink.add(&HARDCODED_HOST_PORT, path, message);
    }
    if all_interfaces(&p.host_ip) {
        let ip = if p.host_ip.trim().is_empty() {
            "no host IP".to_string()
        } else {
            format!("host IP {}", p.host_ip.trim())
        };
        sink.add(
            &PORT_ALL_INTERFACES,
            path,
            format!(
                "container port {container} is published on every host interface ({ip}), \
                 reachable from the whole network — bind it to 127.0.0.1 unless it must be \
                 public"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    fn ports(entries: &str) -> Vec<(String, String)> {
        let text = format!("services:\n  api:\n    image: x\n    ports:\n{entries}");
        lint_yaml(&text)
            .into_iter()
            .filter(|f| f.rule == HARDCODED_HOST_PORT.id || f.rule == PORT_ALL_INTERFACES.id)
            .map(|f| (f.path, f.rule.to_string()))
            .collect()
    }

    const FIXED: &str = "hardcoded-host-port";
    const OPEN: &str = "port-all-interfaces";

    #[test]
    fn fixed_host_ports_in_short_syntax() {
        let p0 = "services.api.ports[0]".to_string();
        assert_eq!(
            ports("      - \"7001:7000\"\n"),
            vec![(p0.clone(), FIXED.into()), (p0.clone(), OPEN.into())]
        );
        assert_eq!(
            ports("      - \"0.0.0.0:7001:7000\"\n"),
            vec![(p0.clone(), FIXED.into()), (p0.clone(), OPEN.into())]
        );
        assert_eq!(
            ports("      - \"7003-7010:7003\"\n"),
            vec![(p0.clone(), FIXED.into()), (p0.clone(), OPEN.into())]
        );
        assert_eq!(
            ports("      - 127.0.0.1:7001:7000/tcp\n"),
            vec![(p0.clone(), FIXED.into())]
        );
        assert_eq!(
            ports("      - \"[::1]:7001:7000\"\n"),
            vec![(p0.clone(), FIXED.into())]
        );
        // Unquoted: YAML 1.2 reads it as a string, not a base-60 number.
        assert_eq!(
            ports("      - 4200:4200\n"),
            vec![(p0.clone(), FIXED.into()), (p0, OPEN.into())]
        );
    }

    #[test]
    fn a_default_inside_interpolation_is_still_fixed() {
        let f = lint_yaml(
            "services:\n  api:\n    ports:\n      - \"${API_EXTERNAL_PORT:-7001}:7000\"\n",
        );
        let hit = at(&f, "services.api.ports[0]", FIXED);
        assert!(hit.message.contains("defaults to 7001"), "{}", hit.message);
        assert_eq!(hit.mutation, Some("engine-assigned-port"));
        let f = lint_yaml(
            "services:\n  api:\n    ports:\n      - \"${BIND:-127.0.0.1}:${P:-9000}:7000\"\n",
        );
        assert_eq!(f.iter().filter(|f| f.rule == FIXED).count(), 1, "{f:#?}");
        assert!(f.iter().all(|f| f.rule != OPEN), "{f:#?}");
        let f = lint_yaml("services:\n  api:\n    ports:\n      - \"7001:${P:-7000}\"\n");
        let hit = at(&f, "services.api.ports[0]", FIXED);
        assert!(
            hit.message.contains("port 7001 is fixed"),
            "{}",
            hit.message
        );
    }

    #[test]
    fn engine_assigned_and_container_only_ports_are_not_fixed() {
        assert_eq!(ports("      - \"127.0.0.1::7000\"\n"), vec![]);
        assert_eq!(ports("      - \"[::1]::7000\"\n"), vec![]);
        assert_eq!(ports("      - \"${P:-}:7000\"\n").len(), 1);
        let p0 = "services.api.ports[0]".to_string();
        assert_eq!(ports("      - \"7000\"\n"), vec![(p0.clone(), OPEN.into())]);
        assert_eq!(ports("      - 7000\n"), vec![(p0.clone(), OPEN.into())]);
        // A required variable is its own finding, not a fixed port.
        assert_eq!(ports("      - \"${PORT}:7000\"\n"), vec![(p0, OPEN.into())]);
    }

    #[test]
    fn long_syntax() {
        let p0 = "services.api.ports[0]".to_string();
        assert_eq!(
            ports("      - target: 7000\n        published: 7001\n"),
            vec![(p0.clone(), FIXED.into()), (p0.clone(), OPEN.into())]
        );
        assert_eq!(
            ports(
                "      - target: 7000\n        published: \"7001\"\n        host_ip: 127.0.0.1\n"
            ),
            vec![(p0.clone(), FIXED.into())]
        );
        assert_eq!(
            ports("      - target: 7000\n        host_ip: 127.0.0.1\n"),
            vec![]
        );
        assert_eq!(
            ports(
                "      - target: 7000\n        published: \"${P:-7001}\"\n        host_ip: 127.0.0.1\n"
            ),
            vec![(p0, FIXED.into())]
        );
    }

    #[test]
    fn duplicate_host_ports_across_services() {
        let f = lint_yaml(
            "services:\n  a:\n    ports: [\"8080:80\", \"127.0.0.1:9000:90\", \"5353:53/udp\"]\n  b:\n    ports: [\"0.0.0.0:8080:81\", \"127.0.0.2:9000:90\", \"5353:53\"]\n  c:\n    ports:\n      - target: 82\n        published: 8080\n",
        );
        assert_eq!(
            rule_paths(&f, "duplicate-host-port"),
            vec!["services.b.ports[0]", "services.c.ports[0]"]
        );
    }

    #[test]
    fn unquoted_ports_need_the_text() {
        use crate::compose::ComposeFile;
        let text = "services:\n  a:\n    ports:\n      - 8080:80\n      - \"127.0.0.1::80\"\n      - '9000:90'\n      - 3000\n    expose: [\"22:22\"]\n  b:\n    ports: [7000:70, \"7001:71\"]\n";
        let file = ComposeFile::parse("t.yml", text, 1).unwrap();
        let f = crate::lint::lint(&file);
        assert_eq!(
            rule_paths(&f, "unquoted-port"),
            vec!["services.a.ports[0]", "services.b.ports[0]"]
        );
        let hit = at(&f, "services.a.ports[0]", "unquoted-port");
        assert_eq!((hit.line, hit.column), (Some(4), Some(9)));
    }

    #[test]
    fn odd_entries_and_host_networking_do_not_crash_or_report() {
        assert_eq!(
            ports("      - null\n      - [1, 2]\n      - {}\n      - \"\"\n"),
            vec![]
        );
        let f =
            lint_yaml("services:\n  api:\n    network_mode: host\n    ports:\n      - \"80:80\"\n");
        assert!(f.iter().all(|f| f.rule != FIXED && f.rule != OPEN));
        let f = lint_yaml("services:\n  api:\n    ports: \"80:80\"\n");
        assert!(f.iter().all(|f| f.rule != FIXED));
    }
}
