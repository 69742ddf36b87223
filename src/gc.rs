//! What a killed harness left behind: every container, network and volume of a run whose
//! harness process is gone, found by the labels the override put on them.

use serde::Serialize;

use crate::engine::{Docker, EngineError, LABEL_PID, LABEL_RUN, Leftovers};

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
        let removed = if dry_run {
            docker.leftovers(LABEL_RUN, &run).await?
        } else {
            let mut removed = docker.remove_labelled(LABEL_RUN, &run).await?;
            // Compose's default network carries only the project label; the project names
            // of a run all start with the same prefix and are found by its containers.
            for project in project_names(&removed.containers) {
                let more = docker.remove_project(&project).await?;
                removed.networks.extend(more.networks);
                removed.volumes.extend(more.volumes);
            }
            removed
        };
        collected.push(Collected { run, pid, removed });
    }
    Ok(collected)
}

/// `h-<task>-<uuid8>-<i>_<service>_<n>` → `h-<task>-<uuid8>-<i>`.
fn project_names(containers: &[String]) -> Vec<String> {
    let mut names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.split('_').next())
        .filter(|p| p.starts_with("h-"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A run without a pid label, or whose pid is gone, has no owner. Runs of this very
/// process are never collected.
fn owner_alive(pid: &str) -> bool {
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
    fn project_names_come_from_container_names() {
        let names = project_names(&[
            "h-t-1234abcd-0_redis_1".into(),
            "h-t-1234abcd-0_app_1".into(),
            "h-t-1234abcd-2_app_1".into(),
            "someone-else_app_1".into(),
        ]);
        assert_eq!(names, vec!["h-t-1234abcd-0", "h-t-1234abcd-2"]);
    }
}
