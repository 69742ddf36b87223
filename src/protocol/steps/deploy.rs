use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use super::{StepResult, fail, pass, skip};
use crate::protocol::Signature;
use crate::protocol::instance;
use crate::protocol::session::{DeployFailure, Session};

pub(super) async fn deploy(s: &mut Session<'_>) -> StepResult {
    let project = s.project(0);
    match instance::deploy(s, &project).await {
        Ok(up) => {
            s.first_deployment = Some(up.deployment.clone());
            s.deployment = Some(up.deployment);
            pass(up.evidence)
        }
        Err(f) => {
            s.deploy_failure = Some(DeployFailure {
                signature: f.signature,
                evidence: f.evidence.clone(),
            });
            fail(f.signature, f.evidence)
        }
    }
}

/// The seed's default ports were held through deploy: the stack had to come up elsewhere.
pub(super) fn port_discovery(s: &mut Session<'_>) -> StepResult {
    // Taken out of the session, so they are released when this step returns, whatever
    // the outcome: nothing after it needs them.
    let Some(hold) = s.held_ports.take() else {
        return skip(
            "the default ports were not held (port_discovery was not planned before deploy)",
        );
    };
    let held = json!(hold.ports);
    if let Some(f) = &s.deploy_failure
        && f.signature == Signature::PortConflict
    {
        let summary = format!(
            "the stack wanted a default port the harness held: {}",
            f.evidence["summary"].as_str().unwrap_or_default()
        );
        return fail(
            Signature::PortConflict,
            json!({"summary": summary, "held": held, "engine": f.evidence["up"]["stderr"]}),
        );
    }
    let Some(d) = &s.deployment else {
        return skip("no deployment: deploy failed for a reason other than ports");
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
    let evidence = json!({"summary": problems.join("; "), "held": held,
        "assigned": {"api": d.api_port, "websocket": d.websocket_port}, "problems": problems});
    if problems.is_empty() {
        pass(evidence)
    } else {
        fail(Signature::PortConflict, evidence)
    }
}
