//! The entry points: apply one catalog mutation to a file, and show what changed.

use super::catalog::{
    DEPENDS_ON_HEALTHY, DROP_CONTAINER_NAME, DROP_CREDENTIAL_MOUNT, DROP_NETWORK_NAME,
    DROP_VERSION_KEY, DROP_VOLUME_NAME, ENGINE_ASSIGNED_PORT, ENV_DEFAULT, IMAGE_HEALTHCHECK,
    QUICK_HEALTHCHECK, QUOTE_PORTS, REDIS_VOLUME, RESTART_UNLESS_STOPPED, SERVICE_HOST, catalog,
};
use super::edit::Op;
use super::render::{Rendering, render};
use super::types::{Facts, MutateError, Mutation};
use super::{credentials, env, health, names, ports, quote, services};
use crate::compose::ComposeFile;

/// What a mutation wants to change in one file, before it is written out.
pub(crate) struct Plan {
    pub ops: Vec<Op>,
    pub reason: String,
}

impl Plan {
    /// A plan when there is something to edit; `reason` is only written then.
    pub fn of(ops: Vec<Op>, reason: impl FnOnce() -> String) -> Option<Plan> {
        (!ops.is_empty()).then(|| Plan {
            ops,
            reason: reason(),
        })
    }
}

type Planner = fn(&ComposeFile, &Facts) -> Option<Plan>;

fn planner(id: &str) -> Option<Planner> {
    Some(match id {
        ENGINE_ASSIGNED_PORT => ports::engine_assigned,
        ENV_DEFAULT => env::env_default,
        SERVICE_HOST => env::service_host,
        DROP_CONTAINER_NAME => names::drop_container_name,
        DROP_NETWORK_NAME => names::drop_network_name,
        DROP_VOLUME_NAME => names::drop_volume_name,
        DROP_VERSION_KEY => names::drop_version_key,
        DEPENDS_ON_HEALTHY => health::depends_on_healthy,
        IMAGE_HEALTHCHECK => health::image_healthcheck,
        QUICK_HEALTHCHECK => health::quick_healthcheck,
        RESTART_UNLESS_STOPPED => services::restart_unless_stopped,
        REDIS_VOLUME => services::redis_volume,
        QUOTE_PORTS => quote::quote_ports,
        DROP_CREDENTIAL_MOUNT => credentials::drop_credential_mount,
        _ => return None,
    })
}

/// Applies mutation `id` to every site in `file` it concerns. `Ok(None)` when there is
/// nothing for it to change; `Err` for an unknown id or a file the result cannot be
/// written for.
pub fn apply(id: &str, file: &ComposeFile, facts: &Facts) -> Result<Option<Mutation>, MutateError> {
    Ok(apply_rendered(id, file, facts)?.map(|(m, _)| m))
}

/// As [`apply`], and how the text was produced.
pub(crate) fn apply_rendered(
    id: &str,
    file: &ComposeFile,
    facts: &Facts,
) -> Result<Option<(Mutation, Rendering)>, MutateError> {
    let (Some(info), Some(plan_for)) = (catalog().iter().find(|i| i.id == id), planner(id)) else {
        return Err(MutateError::Unknown(id.to_string()));
    };
    let Some(plan) = plan_for(file, facts).filter(|p| !p.ops.is_empty()) else {
        return Ok(None);
    };
    let rendered = render(file, &plan.ops)?;
    let reason = match rendered.how {
        Rendering::Reserialised => format!(
            "{} (The YAML editor could not make this edit in place, so the file was written \
             out afresh: its comments and quoting are not kept.)",
            plan.reason
        ),
        Rendering::Lossless | Rendering::Requoted => plan.reason,
    };
    let mutation = Mutation {
        id: info.id,
        reason,
        yaml: rendered.text,
    };
    Ok(Some((mutation, rendered.how)))
}

/// A unified diff of two versions of a file, three lines of context.
pub fn diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// `a`, `a and b`, `a, b and c`: lists in reasons read like sentences.
pub(crate) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_errors_and_every_catalog_id_has_a_planner() {
        let f = ComposeFile::parse("t.yml", "services:\n  a:\n    image: x\n", 1).unwrap();
        let err = apply("no-such", &f, &Facts::default()).unwrap_err();
        assert_eq!(err, MutateError::Unknown("no-such".into()));
        for info in catalog() {
            assert!(planner(info.id).is_some(), "{}", info.id);
        }
    }

    #[test]
    fn diff_is_unified_with_labels() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n", "old.yml", "new.yml");
        assert_eq!(
            d,
            "--- old.yml\n+++ new.yml\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
        assert_eq!(diff("a\n", "a\n", "x", "y"), "");
    }

    #[test]
    fn lists_read_like_sentences() {
        let s = |v: &[&str]| list(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["a"]), "a");
        assert_eq!(s(&["a", "b"]), "a and b");
        assert_eq!(s(&["a", "b", "c"]), "a, b and c");
    }
}
