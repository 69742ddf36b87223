//! The task's spec read against its candidate: the app endpoint an instance is known by,
//! and the ports its dependencies listen on (to tell an app that looks for one on its own
//! loopback).

use std::collections::BTreeSet;

use crate::compose::ComposeFile;
use crate::compose::env::environment;
use crate::compose::ports::ports;
use crate::compose::read::scalar;
use crate::compose::service::services;
use crate::compose::url::{plain_authority_len, spans};
use crate::spec::{DependencyCheck, SpecFile};

/// `(service, container port)` of the first HTTP endpoint an app declares: the
/// instance's "API port" in records and port_discovery.
pub(crate) fn primary_http(spec: &SpecFile) -> Option<(&str, u16)> {
    let (app, e) = spec.apps.iter().find_map(|a| Some((a, a.http.first()?)))?;
    Some((app.service.as_str(), e.port))
}

/// `(service, container port)` of the first WebSocket endpoint an app declares, if any.
pub(crate) fn primary_ws(spec: &SpecFile) -> Option<(&str, u16)> {
    let (app, e) = spec
        .apps
        .iter()
        .find_map(|a| Some((a, a.websocket.first()?)))?;
    Some((app.service.as_str(), e.port))
}

/// Whether any app declares a WebSocket endpoint (else ws_probe is not declared).
pub(crate) fn has_websocket(spec: &SpecFile) -> bool {
    primary_ws(spec).is_some()
}

/// The container ports the declared dependencies listen on, as the candidate says: a
/// `tcp` check's port, the dependency's `ports:` and `expose:`, and the port of any URL in
/// the services' environment whose host is the dependency (`redis://store:6380`).
pub(crate) fn dependency_ports(spec: &SpecFile, file: &ComposeFile) -> BTreeSet<u16> {
    let names: Vec<&str> = spec
        .dependencies
        .iter()
        .map(|d| d.service.as_str())
        .collect();
    let mut found: BTreeSet<u16> = spec
        .dependencies
        .iter()
        .filter_map(|d| match d.check {
            DependencyCheck::Tcp { port } => Some(port),
            DependencyCheck::Exec { .. } => None,
        })
        .collect();
    for svc in services(&file.doc) {
        if names.contains(&svc.name.as_str()) {
            let published = ports(&svc)
                .into_iter()
                .filter_map(|e| e.spec.published())
                .filter_map(|p| port_of(&p.container));
            found.extend(published);
            let exposed = svc.body.get("expose").and_then(|v| v.as_sequence());
            found.extend(
                exposed
                    .into_iter()
                    .flatten()
                    .filter_map(|v| port_of(&scalar(v)?)),
            );
        }
        for entry in environment(&svc) {
            let Some(value) = entry.value.as_deref() else {
                continue;
            };
            found.extend(url_ports(value, &names));
        }
    }
    found
}

/// `7000` of `7000` or `7000/tcp`.
fn port_of(text: &str) -> Option<u16> {
    text.split('/').next()?.trim().parse().ok()
}

/// The ports of the URLs in `value` whose host is one of `hosts`.
fn url_ports(value: &str, hosts: &[&str]) -> Vec<u16> {
    spans(value, plain_authority_len)
        .into_iter()
        .filter_map(|span| {
            let authority = &value[span.authority];
            let host_port = authority.rsplit('@').next()?;
            let (host, port) = host_port.rsplit_once(':')?;
            hosts.contains(&host).then(|| port.parse().ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_port_comes_from_the_file_not_a_constant() {
        let file = ComposeFile::parse(
            "t",
            "services:\n  app:\n    image: a\n    environment:\n      STORE: redis://u:p@store:6390/0\n      OTHER: http://elsewhere:81\n  store:\n    image: s\n    expose: [\"7000\"]\n",
            1,
        )
        .expect("parses");
        let spec: SpecFile = serde_yaml_ng::from_str(
            "apps: [{service: app}]\ndependencies:\n  - {service: store, check: {tcp: {port: 7001}}}\n",
        )
        .expect("spec");
        let ports: Vec<u16> = dependency_ports(&spec, &file).into_iter().collect();
        assert_eq!(ports, vec![6390, 7000, 7001]);
    }
}
