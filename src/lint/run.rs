use serde_yaml_ng::Value;

use super::finding::{Finding, Sink};
use super::yaml::{self, Service};
use super::{env, networks, ports, services};
use crate::compose::ComposeFile;

/// What every rule reads: the document with merge keys applied, and its services.
pub(crate) struct Ctx<'a> {
    pub doc: &'a Value,
    pub services: Vec<Service<'a>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(doc: &'a Value) -> Ctx<'a> {
        Ctx {
            doc,
            services: yaml::services(doc),
        }
    }

    pub(crate) fn service(&self, name: &str) -> Option<&Service<'a>> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Runs to completion rather than serving: another service waits for it with
    /// `service_completed_successfully`, or it is scaled to zero.
    pub(crate) fn is_one_shot(&self, svc: &Service<'_>) -> bool {
        let awaited = self.services.iter().any(|other| {
            yaml::depends_on(other).iter().any(|(dep, cond, _)| {
                dep == &svc.name && cond.as_deref() == Some("service_completed_successfully")
            })
        });
        let replicas = yaml::get_map(svc.body, "deploy")
            .and_then(|d| yaml::get_str(d, "replicas"))
            .or_else(|| yaml::get_str(svc.body, "scale"));
        awaited || replicas.as_deref() == Some("0")
    }
}

/// Every finding for the file, sorted by path then rule.
pub fn lint(file: &ComposeFile) -> Vec<Finding> {
    lint_value(&file.doc)
}

pub(crate) fn lint_value(doc: &Value) -> Vec<Finding> {
    // Compose applies `<<:` merges before it reads a service, so a restart policy or a
    // healthcheck inherited from an anchor counts. A merge Compose would reject is linted
    // as written.
    let mut merged = doc.clone();
    let doc = match merged.apply_merge() {
        Ok(()) => &merged,
        Err(_) => doc,
    };
    let ctx = Ctx::new(doc);
    let mut sink = Sink::default();
    ports::check(&ctx, &mut sink);
    env::check(&ctx, &mut sink);
    services::check(&ctx, &mut sink);
    networks::check(&ctx, &mut sink);
    sink.finish()
}
