use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use super::{StepResult, fail, pass, skip_not_run};
use crate::engine::ContainerInfo;
use crate::protocol::context::StepContext;
use crate::protocol::instance;
use crate::run::Evidence;
use crate::run::evidence::{DeployEvidence, PortDiscoveryEvidence, PortsEvidence};
use crate::run::{Signature, StepKind};

pub(super) async fn deploy(s: &mut StepContext<'_>) -> StepResult {
    let project = s.project(0);
    match instance::deploy(s, &project).await {
        Ok(up) => {
            let exposed = exposed_ports(&up.deployment.containers);
            s.first_deployment = Some(up.deployment.clone());
            s.deployment = Some(up.deployment);
            if exposed.is_empty() {
                return pass(Evidence::of(StepKind::Deploy, up.evidence));
            }
            let summary = format!(
                "published beyond this machine (every port must bind 127.0.0.1): {}",
                exposed.join(", ")
            );
            fail(
                Signature::ExposedPort,
                DeployEvidence {
                    summary: Some(summary),
                    exposed: Some(exposed),
                    deploy: Some(up.evidence),
                    ..Default::default()
                },
            )
        }
        Err(f) => {
            s.deploy_failure = Some(f.clone());
            f.into_step(StepKind::Deploy)
        }
    }
}

/// Every published port, read back from inspect, that binds anything but loopback:
/// `service: host_ip:host_port->container_port`.
pub(super) fn exposed_ports(containers: &[ContainerInfo]) -> Vec<String> {
    containers
        .iter()
        .flat_map(|c| c.ports.iter().map(move |p| (c, p)))
        .filter(|(_, p)| !is_loopback(&p.host_ip))
        .map(|(c, p)| {
            let ip = if p.host_ip.is_empty() {
                "*"
            } else {
                &p.host_ip
            };
            format!("{}: {ip}:{}->{}", c.service, p.host_port, p.container_port)
        })
        .collect()
}

/// An empty or unparsable host IP counts as exposed.
fn is_loopback(host_ip: &str) -> bool {
    host_ip
        .trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The seed's default ports were held through deploy: the stack had to come up elsewhere.
pub(super) fn port_discovery(s: &mut StepContext<'_>) -> StepResult {
    // Taken out of the step context, so they are released when this step returns, whatever
    // the outcome: nothing after it needs them.
    let Some(hold) = s.held_ports.take() else {
        return skip_not_run(
            "the default ports were not held (port_discovery was not planned before deploy)",
        );
    };
    let held = json!(hold.ports);
    if let Some(f) = &s.deploy_failure
        && f.signature() == Some(Signature::PortConflict)
    {
        let summary = format!(
            "the stack wanted a default port the harness held: {}",
            f.evidence["summary"].as_str().unwrap_or_default()
        );
        return fail(
            Signature::PortConflict,
            PortDiscoveryEvidence {
                summary: Some(summary),
                held: Some(held),
                engine: Some(f.evidence["up"]["stderr"].clone()),
                ..Default::default()
            },
        );
    }
    let Some(d) = &s.deployment else {
        return super::nothing_to_check(s);
    };
    let assigned = [("api", d.api_port), ("websocket", d.websocket_port)];
    let mut problems = Vec::new();
    // An unpublished port is the probes' business; this step only checks what was published.
    for (name, port) in assigned.into_iter().filter_map(|(n, p)| Some((n, p?))) {
        if hold.contains(port) {
            problems.push(format!(
                "{name} on default port {port}, which the harness held"
            ));
        } else if let Err(e) =
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
        {
            problems.push(format!(
                "{name} port {port} not reachable on 127.0.0.1: {e}"
            ));
        }
    }
    let passed = problems.is_empty();
    let evidence = PortDiscoveryEvidence {
        summary: Some(problems.join("; ")),
        held: Some(held),
        assigned: Some(PortsEvidence {
            api: Some(d.api_port),
            websocket: Some(d.websocket_port),
        }),
        problems: Some(problems),
        ..Default::default()
    };
    if passed {
        pass(evidence)
    } else {
        fail(Signature::PortConflict, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_not_exposed() {
        for ip in ["127.0.0.1", "::1", "[::1]"] {
            assert!(is_loopback(ip), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "::",
            "",
            "172.17.0.1",
            "192.168.1.5",
            "localhost",
        ] {
            assert!(!is_loopback(ip), "{ip}");
        }
    }
}
