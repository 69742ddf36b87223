//! What a killed harness left behind: every container, network and volume of a run whose
//! owner is provably gone, found by the labels the override put on them. A run whose owner
//! this process cannot judge (another PID namespace, boot, host or user; an older harness's
//! run) is reported and left alone: that is the reaper's job, or a person's
//! (`harness gc --force RUN`).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::engine::{
    Docker, EngineError, LABEL_OWNER, LABEL_PID, LABEL_RUN, LABEL_SESSION, Leftovers, PROJECT_LABEL,
};
use crate::owner::{Fate, Owner, unknown_owner};
use crate::run::RunId;

#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    pub run: String,
    /// The owner's identity label, or the bare pid of an older harness's run.
    pub owner: String,
    pub why: String,
    pub removed: Leftovers,
}

/// A run gc did not judge: its owner may well be alive where this process cannot see.
#[derive(Debug, Clone, Serialize)]
pub struct NotOurs {
    pub run: String,
    pub owner: String,
    pub why: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Collection {
    pub collected: Vec<Collected>,
    pub not_ours: Vec<NotOurs>,
    /// Nothing was removed: the runs were only listed.
    #[serde(skip)]
    pub dry_run: bool,
}

impl std::fmt::Display for Collection {
    /// One line per run, as `harness gc` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut lines = Vec::new();
        for c in &self.collected {
            let r = &c.removed;
            lines.push(format!(
                "run {} ({}): {verb} {} containers, {} networks, {} volumes",
                c.run,
                c.why,
                r.containers.len(),
                r.networks.len(),
                r.volumes.len()
            ));
        }
        for n in &self.not_ours {
            lines.push(format!(
                "run {}: not ours to judge — {}; left to the reaper, or `harness gc --force {}`",
                n.run, n.why, n.run
            ));
        }
        if lines.is_empty() {
            lines.push("nothing to collect: every labelled run has a live harness".into());
        }
        f.write_str(&lines.join("\n"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("no object on the engine carries a run label starting with `{0}`")]
    NoSuchRun(String),
    #[error(
        "`{0}` is not a run UUID or UUID prefix — give the run's UUID, or the start of it in hex digits (its 8-character short id)"
    )]
    BadPrefix(String),
    #[error("`{prefix}` names more than one run ({}): give more of the UUID", runs.join(", "))]
    Ambiguous { prefix: String, runs: Vec<String> },
}

/// `harness gc [--force RUN]`: the runs of dead harnesses, or the one run named.
pub async fn gc(
    docker: &Docker,
    force: Option<&str>,
    dry_run: bool,
) -> Result<Collection, GcError> {
    Ok(match force {
        Some(run) => Collection {
            collected: vec![self::force(docker, run, dry_run).await?],
            not_ours: Vec::new(),
            dry_run,
        },
        None => collect(docker, dry_run).await?,
    })
}

/// Removes (or with `dry_run` only lists) the objects of runs whose owner is provably gone.
pub async fn collect(docker: &Docker, dry_run: bool) -> Result<Collection, EngineError> {
    let mut outcome = Collection {
        dry_run,
        ..Collection::default()
    };
    for (run, owner) in owners(docker).await? {
        match judge(&owner) {
            Fate::Alive => {}
            Fate::Dead(why) => {
                let removed = remove_run(docker, &run, dry_run).await?;
                outcome.collected.push(Collected {
                    run,
                    owner: owner.to_string(),
                    why: why.to_string(),
                    removed,
                });
            }
            Fate::NotOurs(why) => outcome.not_ours.push(NotOurs {
                run,
                owner: owner.to_string(),
                why,
            }),
        }
    }
    Ok(outcome)
}

/// `harness gc --force RUN`: a person's decision, so no owner is judged. `run` may be a
/// unique prefix of a labelled run's UUID.
pub async fn force(docker: &Docker, run: &str, dry_run: bool) -> Result<Collected, GcError> {
    let run = &RunId::prefix(run).ok_or_else(|| GcError::BadPrefix(run.to_string()))?;
    let mut matching: Vec<String> = owners(docker)
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| r.starts_with(run))
        .collect();
    let run = match matching.len() {
        1 => matching.remove(0),
        // A whole UUID with no labelled object left may still have unlabelled projects.
        0 if uuid::Uuid::parse_str(run).is_ok() => run.to_string(),
        0 => return Err(GcError::NoSuchRun(run.to_string())),
        _ => {
            return Err(GcError::Ambiguous {
                prefix: run.to_string(),
                runs: matching,
            });
        }
    };
    let removed = remove_run(docker, &run, dry_run).await?;
    Ok(Collected {
        run,
        owner: String::new(),
        why: "forced by hand".into(),
        removed,
    })
}

/// What a run's labels say about its owner.
#[derive(Debug, Clone, PartialEq)]
enum Recorded {
    Owner(String),
    /// An older harness's run: a pid label only.
    Pid(String),
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recorded::Owner(label) => f.write_str(label),
            Recorded::Pid(pid) => write!(f, "pid={pid}"),
        }
    }
}

fn judge(recorded: &Recorded) -> Fate {
    match recorded {
        Recorded::Owner(label) => match Owner::parse(label) {
            Some(owner) => owner.fate(),
            None => Fate::NotOurs(format!("its owner label `{label}` cannot be read")),
        },
        Recorded::Pid(pid) => unknown_owner(pid),
    }
}

/// Each labelled run once, with what its objects record about its owner.
async fn owners(docker: &Docker) -> Result<Vec<(String, Recorded)>, EngineError> {
    let with_owner = docker.label_values(LABEL_RUN, LABEL_OWNER).await?;
    let with_pid = docker.label_values(LABEL_RUN, LABEL_PID).await?;
    Ok(merge(with_owner, with_pid))
}

fn merge(
    with_owner: Vec<(String, String)>,
    with_pid: Vec<(String, String)>,
) -> Vec<(String, Recorded)> {
    let mut runs: Vec<(String, Recorded)> = Vec::new();
    let owned = with_owner.into_iter().filter(|(_, o)| !o.is_empty());
    for (run, owner) in owned {
        if !runs.iter().any(|(r, _)| *r == run) {
            runs.push((run, Recorded::Owner(owner)));
        }
    }
    for (run, pid) in with_pid {
        if !runs.iter().any(|(r, _)| *r == run) {
            runs.push((run, Recorded::Pid(pid)));
        }
    }
    runs
}

/// Removes (or with `dry_run` only lists) everything of one run: what carries its label,
/// and what Compose made for its projects (the default network carries only the project's).
pub async fn remove_run(
    docker: &Docker,
    run: &str,
    dry_run: bool,
) -> Result<Leftovers, EngineError> {
    let projects = run_projects(docker, &[], run).await?;
    let labels = [(LABEL_RUN, run)];
    let removed = if dry_run {
        docker.leftovers_where(&labels).await?
    } else {
        docker.remove_where(&labels).await?
    };
    with_projects(docker, removed, &projects, dry_run).await
}

/// The reaper's removal: only what carries both the run's and the session's label, and the
/// projects of the run that such objects name — never another session's objects, whatever
/// run a client registered.
pub async fn remove_session_run(
    docker: &Docker,
    run: &str,
    session: &str,
) -> Result<Leftovers, EngineError> {
    let labels = [(LABEL_RUN, run), (LABEL_SESSION, session)];
    let projects = run_projects(docker, &labels, run).await?;
    let removed = docker.remove_where(&labels).await?;
    with_projects(docker, removed, &projects, false).await
}

async fn with_projects(
    docker: &Docker,
    mut removed: Leftovers,
    projects: &[String],
    dry_run: bool,
) -> Result<Leftovers, EngineError> {
    for project in projects {
        let more = if dry_run {
            docker.project_leftovers(project).await?
        } else {
            docker.remove_project(project).await?
        };
        removed.containers.extend(more.containers);
        removed.networks.extend(more.networks);
        removed.volumes.extend(more.volumes);
    }
    for names in [
        &mut removed.containers,
        &mut removed.networks,
        &mut removed.volumes,
    ] {
        names.sort();
        names.dedup();
    }
    Ok(removed)
}

/// The compose projects of a run, among objects carrying `labels`: everything Compose made
/// for them carries the project's name, which [`RunId::owns_project`] reads back. A run
/// label the harness did not write (not a UUID) owns no project; its labelled objects
/// are still removed by the label.
async fn run_projects(
    docker: &Docker,
    labels: &[(&str, &str)],
    run: &str,
) -> Result<Vec<String>, EngineError> {
    let Some(id) = RunId::parse(run) else {
        return Ok(Vec::new());
    };
    let projects: BTreeSet<String> = docker
        .label_values_where(labels, PROJECT_LABEL, PROJECT_LABEL)
        .await?
        .into_iter()
        .map(|(project, _)| project)
        .filter(|p| id.owns_project(p))
        .collect();
    Ok(projects.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_label_wins_over_a_pid_and_older_runs_are_not_ours() {
        let me = Owner::current().unwrap().to_string();
        let runs = merge(
            vec![("a".into(), me.clone()), ("b".into(), String::new())],
            vec![("a".into(), "1".into()), ("b".into(), "4194305".into())],
        );
        assert_eq!(runs[0], ("a".into(), Recorded::Owner(me)));
        assert_eq!(runs[1], ("b".into(), Recorded::Pid("4194305".into())));
        assert_eq!(judge(&runs[0].1), Fate::Alive);
        // Before issue 16 this pid-only run was collected: no such pid exists here.
        assert!(matches!(judge(&runs[1].1), Fate::NotOurs(_)));
        assert!(matches!(
            judge(&Recorded::Owner("garbage".into())),
            Fate::NotOurs(_)
        ));
    }
}
