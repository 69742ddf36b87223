//! Data the task says must persist survives `down` (without -v) and `up`: written through
//! an app (`PUT`/`GET {path}/<key>`) or by commands in the store's own container.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::probe::{dependency_signature, reported};
use super::{StepResult, error, fail, not_declared, pass};
use crate::engine::Project;
use crate::protocol::context::{Deployment, Instance, StepContext};
use crate::protocol::instance::Failure;
use crate::protocol::probes::{self, ProbeError};
use crate::protocol::{classify, instance};
use crate::run::evidence::PersistenceEvidence;
use crate::run::{Fault, Signature, StepKind};
use crate::spec::{PersistExec, Persistence};

pub(super) async fn persistence(s: &StepContext<'_>, on: &Instance) -> StepResult {
    let d = &on.deployment;
    let entries = s.plan.spec.persistence.clone();
    if entries.is_empty() {
        return not_declared("the task declares no persistence");
    }
    let key = format!("harness-{}", s.plan.id().short());
    let value = s.plan.run.to_string();
    let store = stores(&entries);
    for entry in &entries {
        if let Err(f) = put(s, d, entry, &key, &value).await {
            return f.into_step(StepKind::Persistence);
        }
    }
    // Volumes Compose would not reuse after `down`: anonymous ones, orphaned by the new containers.
    let anonymous: Vec<String> = d
        .containers
        .iter()
        .flat_map(|c| c.volumes.iter())
        .filter(|v| crate::engine::is_anonymous_volume(&v.name))
        .map(|v| v.name.clone())
        .collect();
    let project = s.project(on.index);
    s.plan.orphans.add(&anonymous).await;
    let down = match project.down(false, s.plan.stop_timeout).await {
        Ok(out) if out.success => json!({"duration_ms": out.duration_ms}),
        Ok(out) => {
            let evidence = PersistenceEvidence {
                down: Some(json!(s.redactor().text(&out.stderr))),
                ..Default::default()
            };
            if classify::engine_gone(&out.stderr) {
                return error(Fault::EngineUnavailable, evidence);
            }
            return fail(classify::compose_failure(&out.stderr), evidence);
        }
        Err(e) => return error(Fault::ComposeCli, failed(e.to_string())),
    };
    if on.is_main() {
        s.set_main(None);
    }
    // Orphaned for good: the new containers get volumes of their own. Removed now, so a run
    // cut short during the `up` leaves nothing unlabelled behind.
    if s.docker.remove_volumes(&anonymous).await.is_ok() {
        s.plan.orphans.forget(&anonymous);
    }
    let (again, up_again) = match up_again(s, &project, &entries, &key, &value).await {
        Ok(again) => again,
        Err(f) => {
            return f.ends(PersistenceEvidence {
                down: Some(down),
                up_again: Some(f.evidence.clone()),
                ..Default::default()
            });
        }
    };
    if on.is_main() {
        s.set_main(Some(again.clone()));
    }
    let (mut read_back, to_read) = match up_again.read_first {
        // Every entry answered with the value while the instance started.
        true => (vec![json!(value); entries.len()], &[][..]),
        false => (Vec::new(), &entries[..]),
    };
    let mut lost = None;
    for entry in to_read {
        match get(s, &again, entry, &key).await {
            Ok(v) => {
                if v.as_deref() != Some(value.as_str()) && lost.is_none() {
                    lost = Some(entry.service.clone());
                }
                read_back.push(json!(v));
            }
            Err(f) => {
                let mut evidence = f.evidence.clone();
                evidence["down"] = down;
                return Failure { evidence, ..f }.into_step(StepKind::Persistence);
            }
        }
    }
    let evidence = PersistenceEvidence {
        key: Some(key),
        written: Some(value),
        down: Some(down),
        up_again: Some(json!(up_again)),
        read_back: Some(one_or_all(read_back)),
        anonymous_volumes_dropped: Some(anonymous),
        store: Some(store),
        ..Default::default()
    };
    match lost {
        None => pass(evidence),
        Some(service) => fail(
            Signature::DataLost,
            PersistenceEvidence {
                summary: Some(format!(
                    "the value written before `down` was gone after `up`: `{service}` keeps no data across a recreate"
                )),
                ..evidence
            },
        ),
    }
}

/// How the instance came back after `down`: `up`, and whether the value was read back
/// before every service was ready.
#[derive(Debug, serde::Serialize)]
struct UpAgain {
    up_ms: u64,
    /// From the end of `up` to the value read back, or to every service ready.
    after_up_ms: u64,
    /// The value answered while the instance was still starting: read back then, its
    /// readiness not waited for (it is the deploy and restart steps' check, not this one's).
    read_first: bool,
}

/// `up` again, then whichever comes first: every entry reading the value back, or every
/// service ready. A value read back proves it survived; a miss before the instance is
/// ready proves nothing yet (it may still be starting), so only the read made once it is
/// ready can find the value lost.
async fn up_again(
    s: &StepContext<'_>,
    project: &Project,
    entries: &[Persistence],
    key: &str,
    value: &str,
) -> Result<(Deployment, UpAgain), Failure> {
    let started = instance::up(s, project).await?;
    let up_ms = started.up_ms();
    let since = Instant::now();
    let (deployment, read_first) = tokio::select! {
        ready = started.ready(s) => (ready?.deployment, false),
        d = read_early(s, &project.name, entries, key, value) => (d, true),
    };
    let after_up_ms = since.elapsed().as_millis() as u64;
    Ok((
        deployment,
        UpAgain {
            up_ms,
            after_up_ms,
            read_first,
        },
    ))
}

/// How often the recreated instance is asked for the value while it starts.
const EARLY_READ_EVERY: Duration = Duration::from_millis(50);

/// The instance as it answered every entry with `value`; pending until it does, and no
/// longer than the step's timeout (the wait for readiness beside it ends sooner).
async fn read_early(
    s: &StepContext<'_>,
    project: &str,
    entries: &[Persistence],
    key: &str,
    value: &str,
) -> Deployment {
    let tries = s.plan.timeout.as_millis() / EARLY_READ_EVERY.as_millis();
    for _ in 0..tries {
        if let Ok(containers) = s.docker.project_containers(project).await {
            let d = Deployment::new(project, containers, 0, s.plan);
            if all_read_back(s, &d, entries, key, value).await {
                return d;
            }
        }
        tokio::time::sleep(EARLY_READ_EVERY).await;
    }
    std::future::pending().await
}

/// Whether every entry reads `value` back now. A miss is not a verdict, so nothing here
/// asks the app why.
async fn all_read_back(
    s: &StepContext<'_>,
    d: &Deployment,
    entries: &[Persistence],
    key: &str,
    value: &str,
) -> bool {
    for entry in entries {
        let back = match &entry.through {
            Some(t) => match d.host_port(&t.service, t.port) {
                Some(port) => kv(port, &t.path, key, None, EARLY_READ_EVERY * 10).await,
                None => return false,
            }
            .ok()
            .flatten(),
            None => get(s, d, entry, key).await.ok().flatten(),
        };
        if back.as_deref() != Some(value) {
            return false;
        }
    }
    true
}

/// How each entry writes and reads, for the evidence.
fn stores(entries: &[Persistence]) -> Value {
    let each: Vec<Value> = entries
        .iter()
        .map(|p| serde_json::to_value(p).unwrap_or_default())
        .collect();
    one_or_all(each)
}

fn one_or_all(mut values: Vec<Value>) -> Value {
    if values.len() == 1 {
        values.remove(0)
    } else {
        Value::Array(values)
    }
}

/// What stopped the check before it could read back.
fn failed(error: String) -> PersistenceEvidence {
    PersistenceEvidence {
        error: Some(error),
        ..Default::default()
    }
}

/// Writes `value` under `key` as the entry says.
async fn put(
    s: &StepContext<'_>,
    d: &Deployment,
    entry: &Persistence,
    key: &str,
    value: &str,
) -> Result<(), Failure> {
    match (&entry.through, &entry.exec) {
        (Some(t), _) => {
            let port = app_port(d, &t.service, t.port)?;
            let written = kv(port, &t.path, key, Some(value), s.plan.probe_timeout()).await;
            match written {
                Ok(_) => Ok(()),
                Err(e) => Err(app_failure(s, d, entry, &e, json!({"write": e})).await),
            }
        }
        (None, Some(exec)) => {
            let write = PersistExec::fill(&exec.write, key, value);
            in_store(s, d, entry, &write).await.map(|_| ())
        }
        (None, None) => Err(Failure::new(
            Signature::Unclassified,
            json!({"write": "the entry says neither `through` nor `exec`"}),
        )),
    }
}

/// Reads `key` back as the entry says; `None` when it is gone.
async fn get(
    s: &StepContext<'_>,
    d: &Deployment,
    entry: &Persistence,
    key: &str,
) -> Result<Option<String>, Failure> {
    match (&entry.through, &entry.exec) {
        (Some(t), _) => {
            let port = app_port(d, &t.service, t.port)?;
            match kv(port, &t.path, key, None, s.plan.probe_timeout()).await {
                Ok(v) => Ok(v),
                Err(e) => {
                    Err(app_failure(s, d, entry, &e, json!({"read_back": {"error": e}})).await)
                }
            }
        }
        (None, Some(exec)) => {
            let value = s.plan.run.to_string();
            let out = in_store(s, d, entry, &PersistExec::fill(&exec.read, key, &value)).await?;
            Ok(out.contains(&value).then_some(value))
        }
        (None, None) => Ok(None),
    }
}

fn app_port(d: &Deployment, service: &str, port: u16) -> Result<u16, Failure> {
    d.host_port(service, port).ok_or_else(|| {
        Failure::new(
            Signature::ApiProbe,
            json!({"error": format!("no host port is published for `{service}`'s container port {port}")}),
        )
    })
}

/// Runs `command` in the store's container: its output, or why it failed.
async fn in_store(
    s: &StepContext<'_>,
    d: &Deployment,
    entry: &Persistence,
    command: &[String],
) -> Result<String, Failure> {
    let Some(store) = d.service_container(&entry.service) else {
        let error = format!("no container of service `{}` runs", entry.service);
        return Err(Failure::new(
            Signature::RedisUnavailable,
            json!({"error": error}),
        ));
    };
    let argv: Vec<&str> = command.iter().map(String::as_str).collect();
    match s.docker.exec(&store.id, &argv).await {
        Ok((0, out)) => Ok(out),
        Ok((code, out)) => Err(Failure::new(
            Signature::RedisUnavailable,
            json!({"error": format!("`{}` in {} exited {code}: {}", command.join(" "), store.name, out.trim())}),
        )),
        Err(e) if e.is_unreachable() => Err(Failure::fault(
            Fault::of_engine(&e),
            json!({"error": e.to_string()}),
        )),
        Err(e) => Err(Failure::new(
            Signature::RedisUnavailable,
            json!({"error": e.to_string()}),
        )),
    }
}

/// Why a write or read through an app failed, from what the app reports about the store
/// (the dependency declared for `entry.service`).
async fn app_failure(
    s: &StepContext<'_>,
    d: &Deployment,
    entry: &Persistence,
    e: &ProbeError,
    evidence: Value,
) -> Failure {
    let declared = s
        .plan
        .spec
        .dependencies
        .iter()
        .find(|dep| dep.service == entry.service)
        .and_then(|dep| dep.reported.as_ref());
    let said = match declared {
        Some(r) => Some(reported(s, d, r).await),
        None => None,
    };
    kv_failure(e, evidence, said)
}

/// A failed write or read: not connected to the store → where the app looks; connected
/// (or nothing reported) → the app's answer is kept unclassified; no answer at all → the
/// API probe's failure.
fn kv_failure(
    e: &ProbeError,
    evidence: Value,
    said: Option<Result<probes::Reported, Failure>>,
) -> Failure {
    if let ProbeError::Harness(_) = e {
        return Failure::fault(Fault::ProbeUnavailable, evidence);
    }
    match said {
        Some(Ok(r)) if r.value != Some(true) => {
            let mut evidence = evidence;
            evidence["service_reports_redis"] = r.connection();
            Failure::new(dependency_signature(&r), evidence)
        }
        Some(Err(health)) => Failure {
            evidence: json!({"kv": evidence, "health": health.evidence}),
            ..health
        },
        _ => Failure::new(Signature::Unclassified, evidence),
    }
}

/// PUT (with a value) or GET `{path}/<key>`; GET of a missing key is `Ok(None)`.
async fn kv(
    port: u16,
    path: &str,
    key: &str,
    value: Option<&str>,
    timeout: Duration,
) -> Result<Option<String>, ProbeError> {
    let url = format!(
        "http://127.0.0.1:{port}{}/{key}",
        path.trim_end_matches('/')
    );
    let client = probes::http_client(timeout)?;
    let request = match value {
        Some(v) => client.put(&url).body(v.to_string()),
        None => client.get(&url),
    };
    let service = |e: String| ProbeError::Service(format!("{url}: {e}"));
    let response = request.send().await.map_err(|e| service(e.to_string()))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| service(e.to_string()))?;
    match status.as_u16() {
        200 if value.is_none() => Ok(Some(body)),
        200 | 204 => Ok(None),
        404 if value.is_none() => Ok(None),
        code => Err(service(format!("{code} {body}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_write() -> ProbeError {
        ProbeError::Service("PUT /x: 500 write failed".into())
    }

    fn said(connected: bool, target: &str) -> Option<Result<probes::Reported, Failure>> {
        Some(Ok(probes::Reported {
            value: Some(connected),
            target: target.into(),
            error: String::new(),
        }))
    }

    #[test]
    fn a_failed_write_is_named_by_what_the_app_says_about_the_store() {
        let f = kv_failure(
            &failed_write(),
            json!({}),
            said(false, "redis://localhost:6379"),
        );
        assert_eq!(f.signature(), Some(Signature::RedisLocalhost));
        assert_eq!(f.evidence["service_reports_redis"]["connected"], false);
        let f = kv_failure(
            &failed_write(),
            json!({}),
            said(false, "redis://store:6379"),
        );
        assert_eq!(f.signature(), Some(Signature::RedisUnavailable));
        let f = kv_failure(&failed_write(), json!({}), said(true, "redis://store:6379"));
        assert_eq!(
            f.signature(),
            Some(Signature::Unclassified),
            "the store is connected: no guess at why the write failed"
        );
        let f = kv_failure(&failed_write(), json!({}), None);
        assert_eq!(
            f.signature(),
            Some(Signature::Unclassified),
            "nothing reported"
        );
        let harness = ProbeError::Harness("no client".into());
        let f = kv_failure(&harness, json!({}), said(false, "x"));
        assert_eq!(f.blame.fault(), Some(Fault::ProbeUnavailable));
    }

    #[test]
    fn an_app_that_no_longer_answers_is_the_api_probe() {
        let gone = Failure::new(Signature::ApiProbe, json!({"error": "refused"}));
        let f = kv_failure(&failed_write(), json!({"write": 1}), Some(Err(gone)));
        assert_eq!(f.signature(), Some(Signature::ApiProbe));
        assert_eq!(f.evidence["kv"]["write"], 1);
    }
}
