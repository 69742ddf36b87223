//! K instances at once: distinct projects, ports, networks and volumes, all healthy, all
//! probed.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::probe::api_and_ws;
use super::{StepResult, pass};
use crate::protocol::ahead;
use crate::protocol::context::{Deployment, Instance, StepContext};
use crate::protocol::instance::{self, Failure};
use crate::run::Signature;
use crate::run::evidence::MultiInstanceEvidence;

pub(super) async fn multi_instance(s: &StepContext<'_>) -> StepResult {
    if !s.plan.multi_instance_declared() {
        return super::not_declared("the task declares `instances: 1`: no copies run side by side");
    }
    let extras: Vec<usize> = s.plan.extra_instances().collect();
    let projects: Vec<_> = extras.iter().map(|i| s.project(*i)).collect();
    let ups = join_all(projects.iter().map(|p| ahead::deploy(s, p))).await;
    let result = check(s, &ups).await;
    // Checked instances the later steps that recreate or crash one can have, so they need
    // not take turns on the main instance; the rest go now.
    let mut handed_on = Vec::new();
    if result.is_ok() {
        let wanted = super::spares_wanted(s);
        for (index, up) in extras.iter().zip(&ups).take(wanted) {
            if let Ok(up) = up {
                handed_on.push(up.deployment.project.clone());
                s.hand_on(Instance {
                    index: *index,
                    deployment: up.deployment.clone(),
                });
            }
        }
    }
    let going = projects.iter().filter(|p| !handed_on.contains(&p.name));
    let teardown = join_all(going.map(|p| instance::teardown(s, p))).await;
    let handed_on = (!handed_on.is_empty()).then_some(handed_on);
    match result {
        Ok(evidence) => pass(MultiInstanceEvidence {
            instances: Some(evidence),
            teardown: Some(json!(teardown)),
            handed_on,
            ..Default::default()
        }),
        Err(Some(f)) => f.ends(MultiInstanceEvidence {
            failure: Some(f.evidence.clone()),
            teardown: Some(json!(teardown)),
            ..Default::default()
        }),
        Err(None) => super::nothing_to_check(s),
    }
}

async fn check(
    s: &StepContext<'_>,
    ups: &[Result<instance::Up, Failure>],
) -> Result<Value, Option<Failure>> {
    // Instances racing for one name, port or network: whichever lost, the clash is the
    // cause, not what another instance ran into next (the rule missing_key has too).
    let failures: Vec<&Failure> = ups.iter().filter_map(|u| u.as_ref().err()).collect();
    if let Some(f) = instance::cause(&failures) {
        return Err(Some(f.clone()));
    }
    let all_extra = ups.iter().filter_map(|u| u.as_ref().ok());
    let mut all: Vec<&Deployment> = all_extra.map(|up| &up.deployment).collect();
    let Some(main) = s.main() else {
        return Err(None);
    };
    all.insert(0, &main);
    distinct(&all).map_err(Some)?;
    // The main instance's ports were checked by deploy; the extra ones are checked here.
    for d in &all[1..] {
        let exposed = super::deploy::exposed_ports(&d.containers);
        if !exposed.is_empty() {
            let summary = format!(
                "instance {} published beyond this machine: {}",
                d.project,
                exposed.join(", ")
            );
            return Err(Some(Failure::new(
                Signature::ExposedPort,
                json!({"summary": summary, "exposed": exposed}),
            )));
        }
    }
    // Independent instances: probed at once, reported in instance order.
    let probes = join_all(all.iter().map(|d| api_and_ws(s, d))).await;
    let mut probed = Vec::new();
    for (d, p) in all.iter().zip(probes) {
        probed.push(
            json!({"project": d.project, "startup_ms": d.startup_ms, "probes": p.map_err(Some)?}),
        );
    }
    Ok(Value::Array(probed))
}

/// No two instances may share a host port, a network, a volume or a project name.
fn distinct(all: &[&Deployment]) -> Result<(), Failure> {
    let mut ports = BTreeSet::new();
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    let mut projects = BTreeSet::new();
    for d in all {
        if !projects.insert(d.project.clone()) {
            return Err(Failure::new(
                Signature::NameConflict,
                json!({"summary": format!("two instances share the project `{}`", d.project), "shared_project": d.project}),
            ));
        }
        for c in &d.containers {
            for p in &c.ports {
                if !ports.insert(p.host_port) {
                    return Err(Failure::new(
                        Signature::PortConflict,
                        json!({"summary": format!("two instances share host port {}", p.host_port), "shared_port": p.host_port}),
                    ));
                }
            }
        }
        let own: BTreeSet<&String> = d.containers.iter().flat_map(|c| &c.networks).collect();
        for n in own {
            if !networks.insert(n.clone()) {
                return Err(Failure::new(
                    Signature::NetworkConflict,
                    json!({"summary": format!("two instances share the network `{n}`"), "shared_network": n}),
                ));
            }
        }
        // Anonymous volumes are each container's own; a named one written by two stacks is
        // one data directory under both (two Redis servers on one append-only file). One
        // mounted read-only (shared assets) is only read, and may be shared.
        let own: BTreeSet<&String> = d
            .containers
            .iter()
            .flat_map(|c| &c.volumes)
            .filter(|v| v.writable)
            .map(|v| &v.name)
            .collect();
        for v in own {
            if !volumes.insert(v.clone()) {
                return Err(Failure::new(
                    Signature::VolumeConflict,
                    json!({"summary": format!("two instances share the volume `{v}`"), "shared_volume": v}),
                ));
            }
        }
    }
    Ok(())
}
