use std::net::TcpStream;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::{StepResult, fail, pass, skip_not_run};
use crate::engine::ContainerInfo;
use crate::protocol::ahead;
use crate::protocol::context::StepContext;
use crate::protocol::instance::{self, Failure};
use crate::run::Evidence;
use crate::run::evidence::{DeployEvidence, PortDiscoveryEvidence, PortsEvidence};
use crate::run::{Signature, StepKind};

pub(super) async fn deploy(s: &StepContext<'_>) -> StepResult {
    let (result, alongside) = deploy_all(s).await;
    s.deployed(result.as_ref().map(|up| &up.deployment));
    match result {
        Ok(mut up) => {
            up.evidence["alongside"] = alongside;
            let exposed = exposed_ports(&up.deployment.containers);
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
        Err(mut f) => {
            f.evidence["alongside"] = alongside;
            f.into_step(StepKind::Deploy)
        }
    }
}

/// [`deploy_with_later`], the main instance's result also kept for missing_key when the
/// main instance is its key-less variant.
async fn deploy_all(s: &StepContext<'_>) -> (Result<instance::Up, Failure>, Value) {
    let (result, alongside) = deploy_with_later(s).await;
    if super::main_is_keyless(s) {
        // missing_key's instance without the keys, as deployed.
        s.ahead.keep(&s.project(0), result.clone());
    }
    (result, alongside)
}

/// The main instance and, at the same time, every instance a later step checks; returns
/// the main one's result and what was deployed alongside it.
async fn deploy_with_later(s: &StepContext<'_>) -> (Result<instance::Up, Failure>, Value) {
    let main = s.project(0);
    let later = ahead::later_instances(s);
    let (result, others) = tokio::join!(
        instance::deploy(s, &main),
        join_all(later.iter().map(|(_, p)| instance::deploy(s, p)))
    );
    let alongside = ahead::summary(&later, &others);
    let clash = match result {
        Err(f) if instance::is_clash(&f) && !later.is_empty() => f,
        result => {
            for ((_, project), up) in later.iter().zip(others) {
                s.ahead.keep(project, up);
            }
            return (result, alongside);
        }
    };
    // The main instance may have lost a name, port or network to an instance of this very
    // run: its verdict must be its own, so it is deployed again alone, and the later steps
    // deploy theirs beside it, as they would have.
    let torn = join_all(
        later
            .iter()
            .map(|(_, p)| p)
            .chain([&main])
            .map(|p| instance::teardown(s, p)),
    )
    .await;
    let alone = instance::deploy(s, &main).await;
    let retried = json!({"deployed_alone_after": clash.signature(), "first_attempt": clash.evidence,
        "alongside": alongside, "torn_down": torn});
    (alone, retried)
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
pub(super) fn port_discovery(s: &StepContext<'_>) -> StepResult {
    // Taken out of the step context, so they are released when this step returns, whatever
    // the outcome: nothing after it needs them.
    let Some(hold) = s.take_held_ports() else {
        return skip_not_run(
            "the default ports were not held (port_discovery was not planned before deploy)",
        );
    };
    let held = json!(hold.ports);
    if let Some(f) = s.deploy_failure()
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
    let Some(d) = s.main() else {
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
