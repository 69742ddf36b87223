//! What a killed harness left behind: every container, network and volume of a run whose
//! harness process is gone, found by the labels the override put on them.

use serde::Serialize;

use crate::engine::{Docker, EngineError, LABEL_PID, LABEL_RUN, Leftovers, PROJECT_LABEL};

#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    pub run: String,
    pub pid: String,
    pub removed: Leftovers,
}

/// Removes (or with `dry_run` only lists) the objects of runs whose harness is not alive.
pub async fn collect(docker: &Docker, dry_run: bool) -> Result<Vec<Collected>, EngineError> {
    let mut collected = Vec::new();
    for (run, pid) in docker.label_values(LABEL_RUN, LABEL_PID).await? {
        if owner_alive(&pid) || collected.iter().any(|c: &Collected| c.run == run) {
            continue;
        }
        let removed = remove_run(docker, &run, dry_run).await?;
        collected.push(Collected { run, pid, removed });
    }
    Ok(collected)
}

/// Removes (or with `dry_run` only lists) everything of one run: what carries its label,
/// and what Compose made for its projects (the default network carries only the project's).
pub async fn remove_run(
    docker: &Docker,
    run: &str,
    dry_run: bool,
) -> Result<Leftovers, EngineError> {
    let projects = run_projects(docker, run).await?;
    let mut removed = if dry_run {
        docker.leftovers(LABEL_RUN, run).await?
    } else {
        docker.remove_labelled(LABEL_RUN, run).await?
    };
    for project in &projects {
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

/// The compose projects of a run: their names are `h-<task>-<uuid8>-<i>`, and every
/// container, network and volume Compose made for them carries that name as a label.
async fn run_projects(docker: &Docker, run: &str) -> Result<Vec<String>, EngineError> {
    let uuid8: String = run.chars().filter(|c| *c != '-').take(8).collect();
    let marker = format!("-{uuid8}-");
    let mut projects: Vec<String> = docker
        .label_values(PROJECT_LABEL, PROJECT_LABEL)
        .await?
        .into_iter()
        .map(|(project, _)| project)
        .filter(|p| belongs(p, &marker))
        .collect();
    projects.sort();
    projects.dedup();
    Ok(projects)
}

fn belongs(project: &str, marker: &str) -> bool {
    project.starts_with("h-") && project.contains(marker)
}

/// A run without a pid label, or whose pid is gone, has no owner. Runs of this very
/// process are never collected.
pub(crate) fn owner_alive(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    if pid as u32 == std::process::id() {
        return true;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_owners() {
        assert!(owner_alive(&std::process::id().to_string()));
        assert!(!owner_alive(""));
        assert!(!owner_alive("0"));
        assert!(!owner_alive("not-a-pid"));
        // pid_max is at most 2^22 on Linux: this one cannot exist.
        assert!(!owner_alive("4194305"));
    }

    #[test]
    fn projects_belong_to_a_run_by_its_uuid8() {
        let marker = "-1234abcd-";
        assert!(
            belongs("h-e2e_gc_0e73c848-1234abcd-0", marker),
            "task names may hold `_`"
        );
        assert!(belongs("h-t-1234abcd-3", marker));
        assert!(!belongs("h-t-99999999-0", marker));
        assert!(
            !belongs("someone-1234abcd-0", marker),
            "only the harness's own projects"
        );
    }
}
