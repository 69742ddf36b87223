//! The block against the task's own candidate: every service it names exists, and every
//! container port the harness reaches from the host is published by its service.

use std::collections::BTreeSet;

use super::error::SpecProblem;
use super::model::{MAX_INSTANCES, SpecFile};
use crate::compose::ComposeFile;
use crate::compose::path::Path;
use crate::compose::ports::ports;
use crate::compose::service::services;

/// The first problem, at the path of the field that has it.
pub(super) fn validate(spec: &SpecFile, file: &ComposeFile) -> Result<(), (Path, SpecProblem)> {
    let known = file.service_names();
    let exists = |path: Path, service: &str| {
        if known.iter().any(|k| k == service) {
            return Ok(());
        }
        let problem = SpecProblem::UnknownService {
            field: path.render(),
            service: service.to_string(),
            known: known.join(", "),
        };
        Err((path, problem))
    };
    for (path, service) in named_services(spec) {
        exists(path, service)?;
    }
    persistence_is_one_way(spec)?;
    if !(1..=MAX_INSTANCES).contains(&spec.instances) {
        let problem = SpecProblem::Instances {
            value: spec.instances,
        };
        return Err((Path::root().key("instances"), problem));
    }
    for (i, id) in spec.lint.errors.iter().enumerate() {
        if crate::lint::rule(id).is_none() {
            let problem = SpecProblem::UnknownRule { rule: id.clone() };
            return Err((Path::root().key("lint").key("errors").index(i), problem));
        }
    }
    for (path, service, port) in reached_ports(spec) {
        let published = published_container_ports(file, service);
        if !published.contains(&port) {
            let problem = SpecProblem::Unpublished {
                field: path.render(),
                service: service.to_string(),
                port,
                published: listed(&published),
            };
            return Err((path, problem));
        }
    }
    reported_by_an_app(spec, file)
}

/// Each persistence entry says one way to write and read, and its commands use the
/// key and value the harness fills in.
fn persistence_is_one_way(spec: &SpecFile) -> Result<(), (Path, SpecProblem)> {
    for (i, p) in spec.persistence.iter().enumerate() {
        let at = Path::root().key("persistence").index(i);
        let has = match (&p.through, &p.exec) {
            (Some(_), Some(_)) => "both",
            (None, None) => "neither",
            (None, Some(exec)) => {
                let needs = [
                    ("write", &exec.write, "{value}"),
                    ("read", &exec.read, "{key}"),
                ];
                for (name, command, placeholder) in needs {
                    if !command.iter().any(|a| a.contains(placeholder)) {
                        let field = at.key("exec").key(name);
                        let problem = SpecProblem::PersistencePlaceholder {
                            field: field.render(),
                            placeholder,
                        };
                        return Err((field, problem));
                    }
                }
                continue;
            }
            (Some(_), None) => continue,
        };
        let problem = SpecProblem::PersistenceHow {
            field: at.render(),
            has,
        };
        return Err((at, problem));
    }
    Ok(())
}

/// A `reported` endpoint is asked from the host: some app must publish its port.
fn reported_by_an_app(spec: &SpecFile, file: &ComposeFile) -> Result<(), (Path, SpecProblem)> {
    let apps: Vec<(&str, BTreeSet<u16>)> = spec
        .apps
        .iter()
        .map(|a| {
            (
                a.service.as_str(),
                published_container_ports(file, &a.service),
            )
        })
        .collect();
    let reported = spec
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (Path::root().key("keys").index(i), &k.reported))
        .chain(
            spec.dependencies
                .iter()
                .enumerate()
                .map(|(i, d)| (Path::root().key("dependencies").index(i), &d.reported)),
        );
    for (at, reported) in reported {
        let Some(r) = reported else { continue };
        if apps.iter().any(|(_, ports)| ports.contains(&r.port)) {
            continue;
        }
        let field = at.key("reported").key("port");
        let each: Vec<String> = apps
            .iter()
            .map(|(name, ports)| {
                format!(
                    "{name} publishes {}",
                    if ports.is_empty() {
                        "none".to_string()
                    } else {
                        joined(ports)
                    }
                )
            })
            .collect();
        let problem = SpecProblem::ReportedUnpublished {
            field: field.render(),
            port: r.port,
            published: format!(" ({})", each.join("; ")),
        };
        return Err((field, problem));
    }
    Ok(())
}

/// Every field that names a service, with its path in the block.
fn named_services(spec: &SpecFile) -> Vec<(Path, &str)> {
    let root = Path::root();
    let mut named = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        named.push((
            root.key("apps").index(i).key("service"),
            app.service.as_str(),
        ));
    }
    for (i, dep) in spec.dependencies.iter().enumerate() {
        let at = root.key("dependencies").index(i).key("service");
        named.push((at, dep.service.as_str()));
    }
    for (i, p) in spec.persistence.iter().enumerate() {
        let at = root.key("persistence").index(i);
        named.push((at.key("service"), p.service.as_str()));
        if let Some(through) = &p.through {
            named.push((at.key("through").key("service"), through.service.as_str()));
        }
    }
    for (i, service) in spec.restart.recover.iter().enumerate() {
        let at = root.key("restart").key("recover").index(i);
        named.push((at, service.as_str()));
    }
    named
}

/// The container ports the harness reaches through a host port: `(field, service, port)`.
fn reached_ports(spec: &SpecFile) -> Vec<(Path, &str, u16)> {
    let mut reached = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let at = Path::root().key("apps").index(i);
        let service = app.service.as_str();
        for (j, e) in app.http.iter().enumerate() {
            reached.push((at.key("http").index(j).key("port"), service, e.port));
        }
        for (j, e) in app.websocket.iter().enumerate() {
            reached.push((at.key("websocket").index(j).key("port"), service, e.port));
        }
    }
    for (i, p) in spec.persistence.iter().enumerate() {
        let Some(through) = &p.through else { continue };
        let at = Path::root().key("persistence").index(i).key("through");
        reached.push((at.key("port"), through.service.as_str(), through.port));
    }
    reached
}

/// The container ports `service` publishes (protocol suffix dropped; ranges not read).
fn published_container_ports(file: &ComposeFile, service: &str) -> BTreeSet<u16> {
    services(&file.doc)
        .iter()
        .filter(|s| s.name == service)
        .flat_map(ports)
        .filter_map(|entry| entry.spec.published())
        .filter_map(|p| {
            let port = p.container.split('/').next().unwrap_or_default();
            port.trim().parse().ok()
        })
        .collect()
}

fn listed(ports: &BTreeSet<u16>) -> String {
    if ports.is_empty() {
        return " (it publishes none)".to_string();
    }
    format!(" ({})", joined(ports))
}

fn joined(ports: &BTreeSet<u16>) -> String {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    ports.join(", ")
}
